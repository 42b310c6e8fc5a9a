//! The permission matrix: every role × every command × where the actor
//! works relative to the facility the command acts on.
//!
//! The table in [`SPEC`] is the specification. Each line is one command and
//! one role; its columns say what happens when a person with that role
//! issues the command from each position:
//!
//! - `own`: works at the facility the command acts on (for a referral: the
//!   origin for create, acknowledge and cancel; the destination otherwise);
//! - `own*`: claims that same facility but another agency than the
//!   facility's (an inconsistent identity);
//! - `same`: works at another facility of the same agency, not involved in
//!   the referral;
//! - `other`: works at a facility of another agency, not involved;
//! - `peer`: works at the other end of the referral (referral commands only);
//! - `none`: has no facility (how network admins and auditors usually act).
//!
//! Every referral here goes from the Bienestar clinic C1 to the IMSS
//! hospital H2 under the Bienestar → IMSS agreement. The test runs every
//! cell against a copy of one prepared network and prints the first cell
//! where the engine disagrees with the table.

use chrono::{DateTime, Duration, Utc};
use enlace_core::agenda::{AgendaConfig, Closure};
use enlace_core::agreement::Agreement;
use enlace_core::facility::{Facility, Service, Tier};
use enlace_core::priority::Priority;
use enlace_core::referral::{
    CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination, FollowUpRequest,
    RejectReason,
};
use enlace_core::{Actor, Command, Engine, Event, Outcome, Request, Role};

// --- the specification ---------------------------------------------------------
//
// ok  allowed                      ur  unknown_referral (the referral is
// np  not_permitted                    invisible to the actor)
// na  no_agreement                 in  invalid_input
// -   not applicable

const SPEC: &str = "
command                       role          own  own*  same  other  peer  none
# network reference data: admins only, wherever they sit
configure_network             clerk         np   np    np    np     -     np
configure_network             clinician     np   np    np    np     -     np
configure_network             coordinator   np   np    np    np     -     np
configure_network             auditor       np   np    np    np     -     np
configure_network             admin         ok   np    ok    ok     -     ok
define_service                clerk         np   np    np    np     -     np
define_service                clinician     np   np    np    np     -     np
define_service                coordinator   np   np    np    np     -     np
define_service                auditor       np   np    np    np     -     np
define_service                admin         ok   np    ok    ok     -     ok
register_facility             clerk         np   np    np    np     -     np
register_facility             clinician     np   np    np    np     -     np
register_facility             coordinator   np   np    np    np     -     np
register_facility             auditor       np   np    np    np     -     np
register_facility             admin         ok   np    ok    ok     -     ok
declare_holiday               clerk         np   np    np    np     -     np
declare_holiday               clinician     np   np    np    np     -     np
declare_holiday               coordinator   np   np    np    np     -     np
declare_holiday               auditor       np   np    np    np     -     np
declare_holiday               admin         ok   np    ok    ok     -     ok
define_agreement              clerk         np   np    np    np     -     np
define_agreement              clinician     np   np    np    np     -     np
define_agreement              coordinator   np   np    np    np     -     np
define_agreement              auditor       np   np    np    np     -     np
define_agreement              admin         ok   np    ok    ok     -     ok
# beneficiaries: front-line staff of any facility, and admins
register_beneficiary          clerk         ok   np    ok    ok     -     np
register_beneficiary          clinician     ok   np    ok    ok     -     np
register_beneficiary          coordinator   ok   np    ok    ok     -     np
register_beneficiary          auditor       np   np    np    np     -     np
register_beneficiary          admin         ok   np    ok    ok     -     ok
set_coverage                  clerk         ok   np    ok    ok     -     np
set_coverage                  clinician     ok   np    ok    ok     -     np
set_coverage                  coordinator   ok   np    ok    ok     -     np
set_coverage                  auditor       np   np    np    np     -     np
set_coverage                  admin         ok   np    ok    ok     -     ok
# agendas of C1: its clerks and network admins
define_agenda                 clerk         ok   np    np    np     -     np
define_agenda                 clinician     np   np    np    np     -     np
define_agenda                 coordinator   np   np    np    np     -     np
define_agenda                 auditor       np   np    np    np     -     np
define_agenda                 admin         ok   np    ok    ok     -     ok
add_closure                   clerk         ok   np    np    np     -     np
add_closure                   clinician     np   np    np    np     -     np
add_closure                   coordinator   np   np    np    np     -     np
add_closure                   auditor       np   np    np    np     -     np
add_closure                   admin         ok   np    ok    ok     -     ok
# appointments at C1: its front desk; care recorded by its clinicians
book_appointment              clerk         ok   np    np    np     -     np
book_appointment              clinician     ok   np    np    np     -     np
book_appointment              coordinator   ok   np    np    np     -     np
book_appointment              auditor       np   np    np    np     -     np
book_appointment              admin         np   np    np    np     -     np
cancel_appointment            clerk         ok   np    np    np     -     np
cancel_appointment            clinician     ok   np    np    np     -     np
cancel_appointment            coordinator   ok   np    np    np     -     np
cancel_appointment            auditor       np   np    np    np     -     np
cancel_appointment            admin         np   np    np    np     -     np
reschedule_appointment        clerk         ok   np    np    np     -     np
reschedule_appointment        clinician     ok   np    np    np     -     np
reschedule_appointment        coordinator   ok   np    np    np     -     np
reschedule_appointment        auditor       np   np    np    np     -     np
reschedule_appointment        admin         np   np    np    np     -     np
mark_arrived                  clerk         ok   np    np    np     -     np
mark_arrived                  clinician     ok   np    np    np     -     np
mark_arrived                  coordinator   ok   np    np    np     -     np
mark_arrived                  auditor       np   np    np    np     -     np
mark_arrived                  admin         np   np    np    np     -     np
mark_fulfilled                clerk         np   np    np    np     -     np
mark_fulfilled                clinician     ok   np    np    np     -     np
mark_fulfilled                coordinator   np   np    np    np     -     np
mark_fulfilled                auditor       np   np    np    np     -     np
mark_fulfilled                admin         np   np    np    np     -     np
mark_no_show                  clerk         ok   np    np    np     -     np
mark_no_show                  clinician     ok   np    np    np     -     np
mark_no_show                  coordinator   ok   np    np    np     -     np
mark_no_show                  auditor       np   np    np    np     -     np
mark_no_show                  admin         np   np    np    np     -     np
# the waitlist: front-line staff of any facility
join_waitlist                 clerk         ok   np    ok    ok     -     np
join_waitlist                 clinician     ok   np    ok    ok     -     np
join_waitlist                 coordinator   ok   np    ok    ok     -     np
join_waitlist                 auditor       np   np    np    np     -     np
join_waitlist                 admin         np   np    np    np     -     np
leave_waitlist                clerk         ok   np    ok    ok     -     np
leave_waitlist                clinician     ok   np    ok    ok     -     np
leave_waitlist                coordinator   ok   np    ok    ok     -     np
leave_waitlist                auditor       np   np    np    np     -     np
leave_waitlist                admin         np   np    np    np     -     np
# referrals, origin side (C1): clinicians refer from where they work
create_referral               clerk         np   np    np    np     np    np
create_referral               clinician     ok   np    ok    na     in    np
create_referral               coordinator   np   np    np    np     np    np
create_referral               auditor       np   np    np    np     np    np
create_referral               admin         np   np    np    np     np    np
acknowledge_counter_referral  clerk         np   np    ur    ur     np    ur
acknowledge_counter_referral  clinician     ok   np    ur    ur     np    ur
acknowledge_counter_referral  coordinator   ok   np    ur    ur     np    ur
acknowledge_counter_referral  auditor       np   np    np    np     np    np
acknowledge_counter_referral  admin         np   np    np    np     np    np
cancel_referral               clerk         np   np    ur    ur     np    ur
cancel_referral               clinician     ok   np    ur    ur     np    ur
cancel_referral               coordinator   ok   np    ur    ur     np    ur
cancel_referral               auditor       np   np    np    np     np    np
cancel_referral               admin         np   np    np    np     np    np
# referrals, destination side (H2)
receive_referral              clerk         np   np    ur    ur     np    ur
receive_referral              clinician     ok   np    ur    ur     np    ur
receive_referral              coordinator   ok   np    ur    ur     np    ur
receive_referral              auditor       np   np    np    np     np    np
receive_referral              admin         np   np    np    np     np    np
accept_referral               clerk         np   np    ur    ur     np    ur
accept_referral               clinician     ok   np    ur    ur     np    ur
accept_referral               coordinator   ok   np    ur    ur     np    ur
accept_referral               auditor       np   np    np    np     np    np
accept_referral               admin         np   np    np    np     np    np
reject_referral               clerk         np   np    ur    ur     np    ur
reject_referral               clinician     ok   np    ur    ur     np    ur
reject_referral               coordinator   ok   np    ur    ur     np    ur
reject_referral               auditor       np   np    np    np     np    np
reject_referral               admin         np   np    np    np     np    np
redirect_referral             clerk         np   np    ur    ur     np    ur
redirect_referral             clinician     np   np    ur    ur     np    ur
redirect_referral             coordinator   ok   np    ur    ur     np    ur
redirect_referral             auditor       np   np    np    np     np    np
redirect_referral             admin         np   np    np    np     np    np
escalate_referral             clerk         np   np    ur    ur     np    ur
escalate_referral             clinician     ok   np    ur    ur     np    ur
escalate_referral             coordinator   ok   np    ur    ur     np    ur
escalate_referral             auditor       np   np    np    np     np    np
escalate_referral             admin         np   np    np    np     np    np
schedule_referral             clerk         ok   np    ur    ur     np    ur
schedule_referral             clinician     np   np    ur    ur     np    ur
schedule_referral             coordinator   ok   np    ur    ur     np    ur
schedule_referral             auditor       np   np    np    np     np    np
schedule_referral             admin         np   np    np    np     np    np
send_counter_referral         clerk         np   np    ur    ur     np    ur
send_counter_referral         clinician     ok   np    ur    ur     np    ur
send_counter_referral         coordinator   np   np    ur    ur     np    ur
send_counter_referral         auditor       np   np    np    np     np    np
send_counter_referral         admin         np   np    np    np     np    np
close_referral                clerk         np   np    ur    ur     np    ur
close_referral                clinician     np   np    ur    ur     np    ur
close_referral                coordinator   ok   np    ur    ur     np    ur
close_referral                auditor       np   np    np    np     np    np
close_referral                admin         np   np    np    np     np    np
";

/// The columns of [`SPEC`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Own,
    OwnOtherAgency,
    SameAgency,
    OtherAgency,
    Peer,
    Nowhere,
}

const POSITIONS: [Position; 6] = [
    Position::Own,
    Position::OwnOtherAgency,
    Position::SameAgency,
    Position::OtherAgency,
    Position::Peer,
    Position::Nowhere,
];

impl Position {
    fn label(self) -> &'static str {
        match self {
            Position::Own => "own",
            Position::OwnOtherAgency => "own*",
            Position::SameAgency => "same",
            Position::OtherAgency => "other",
            Position::Peer => "peer",
            Position::Nowhere => "none",
        }
    }
}

fn code_of(short: &str) -> &'static str {
    match short {
        "ok" => "ok",
        "np" => "not_permitted",
        "ur" => "unknown_referral",
        "na" => "no_agreement",
        "in" => "invalid_input",
        other => panic!("unknown outcome {other:?} in the table"),
    }
}

fn short_of(code: &str) -> &'static str {
    match code {
        "ok" => "ok",
        "not_permitted" => "np",
        "unknown_referral" => "ur",
        "no_agreement" => "na",
        "invalid_input" => "in",
        _ => "??",
    }
}

fn role_named(name: &str) -> Role {
    Role::ALL
        .into_iter()
        .find(|r| r.as_str() == name)
        .unwrap_or_else(|| panic!("unknown role {name:?} in the table"))
}

/// One line of the table.
struct Line {
    command: String,
    role: Role,
    cells: Vec<(Position, Option<&'static str>)>,
}

fn spec() -> Vec<Line> {
    let mut lines = SPEC
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let labels: Vec<&str> = POSITIONS.iter().map(|p| p.label()).collect();
    assert_eq!(header[2..], labels[..], "the table's columns");
    lines
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(words.len(), 2 + POSITIONS.len(), "malformed line {l:?}");
            Line {
                command: words[0].to_owned(),
                role: role_named(words[1]),
                cells: POSITIONS
                    .iter()
                    .zip(&words[2..])
                    .map(|(&p, &w)| (p, (w != "-").then(|| code_of(w))))
                    .collect(),
            }
        })
        .collect()
}

// --- the network -----------------------------------------------------------------

#[path = "common/network.rs"]
mod network;
use network::*;

fn staff(role: Role, facility: &str) -> Actor {
    Actor::new(
        &format!("{}@{facility}", role.as_str()),
        agency_of(facility),
        Some(facility),
        role,
    )
}

/// When every command of the matrix is issued: Tuesday 3 March, 09:00.
fn at() -> DateTime<Utc> {
    mx("2026-03-03", 9, 0)
}

/// The prepared network and the records the commands act on.
struct Prepared {
    engine: Engine,
    /// Referrals from C1 to H2, one in each status a command needs.
    requested: u32,
    accepted: u32,
    in_progress: u32,
    counter_referred: u32,
    /// Ordinary appointments at C1: one booked (Tuesday 09:00), one arrived.
    booked: u32,
    arrived: u32,
    /// A waitlist entry for C1.
    entry: u32,
}

fn booked_id(out: &Outcome) -> u32 {
    out.events
        .iter()
        .find_map(|ev| match ev {
            Event::AppointmentBooked { appointment, .. } => Some(*appointment),
            _ => None,
        })
        .unwrap()
}

fn create(beneficiary: &str) -> Command {
    Command::CreateReferral {
        beneficiary: beneficiary.into(),
        service: "obs-hr".into(),
        destination: Destination::Facility("H2".into()),
        priority: Priority::Urgent,
        reason: ClinicalReason {
            icd10: vec!["O14.1".into()],
            text: "Severe pre-eclampsia".into(),
        },
        attachments: vec![],
    }
}

fn counter_referral() -> CounterReferral {
    CounterReferral {
        summary: CareSummary {
            diagnoses: vec!["O14.1".into()],
            procedures: vec![],
            outcome: CareOutcome::Resolved,
            text: String::new(),
        },
        instructions: "Prenatal care as usual".into(),
        follow_up: Some(FollowUpRequest {
            service: "prenatal".into(),
            within_days: 14,
            note: String::new(),
        }),
    }
}

fn prepare() -> Prepared {
    let mut e = network();
    for id in ["MX-P4", "MX-P5"] {
        ok(
            &mut e,
            &admin(),
            Command::RegisterBeneficiary {
                beneficiary: person(
                    id,
                    vec![cover("imss-bienestar", "bienestar", "2025-01-01", None)],
                ),
            },
        );
    }
    let (dr, coord) = (staff(Role::Clinician, "C1"), staff(Role::Coordinator, "H2"));
    let (hclerk, hdr) = (staff(Role::Clerk, "H2"), staff(Role::Clinician, "H2"));
    let cclerk = staff(Role::Clerk, "C1");
    let created = |e: &mut Engine, b: &str| match ok(e, &dr, create(b)).events[0] {
        Event::ReferralCreated { referral, .. } => referral,
        _ => unreachable!(),
    };
    let accept = |id| Command::AcceptReferral {
        referral: id,
        note: String::new(),
    };
    let schedule = |id, start| Command::ScheduleReferral {
        referral: id,
        agenda: "H2-obs".into(),
        start,
    };
    let requested = created(&mut e, "MX-P1");
    let accepted = created(&mut e, "MX-P3");
    ok(&mut e, &coord, accept(accepted));
    let in_progress = created(&mut e, "MX-P4");
    ok(&mut e, &coord, accept(in_progress));
    let first = booked_id(&ok(
        &mut e,
        &coord,
        schedule(in_progress, mx("2026-03-03", 8, 0)),
    ));
    let counter_referred = created(&mut e, "MX-P5");
    ok(&mut e, &coord, accept(counter_referred));
    let second = booked_id(&ok(
        &mut e,
        &coord,
        schedule(counter_referred, mx("2026-03-03", 8, 30)),
    ));
    let book = |start, b: &str| Command::BookAppointment {
        agenda: "C1-pre".into(),
        start,
        beneficiary: b.into(),
        follow_up_of: None,
        overbook: false,
    };
    let booked = booked_id(&ok(&mut e, &cclerk, book(at(), "MX-P1")));
    let arrived = booked_id(&ok(
        &mut e,
        &cclerk,
        book(at() + Duration::minutes(20), "MX-P3"),
    ));
    let entry = match ok(
        &mut e,
        &cclerk,
        Command::JoinWaitlist {
            beneficiary: "MX-P2".into(),
            service: "prenatal".into(),
            facility: Some("C1".into()),
            priority: Priority::Routine,
        },
    )
    .events[0]
    {
        Event::WaitlistJoined { entry, .. } => entry,
        _ => unreachable!(),
    };
    ok_at(
        &mut e,
        &hclerk,
        mx("2026-03-03", 8, 0),
        Command::MarkArrived { appointment: first },
    );
    ok_at(
        &mut e,
        &hclerk,
        mx("2026-03-03", 8, 30),
        Command::MarkArrived {
            appointment: second,
        },
    );
    ok_at(
        &mut e,
        &hdr,
        mx("2026-03-03", 8, 45),
        Command::SendCounterReferral {
            referral: counter_referred,
            counter_referral: counter_referral(),
        },
    );
    ok_at(
        &mut e,
        &cclerk,
        at(),
        Command::MarkArrived {
            appointment: arrived,
        },
    );
    Prepared {
        engine: e,
        requested,
        accepted,
        in_progress,
        counter_referred,
        booked,
        arrived,
        entry,
    }
}

/// Which end of a referral a command is done at; `None` for commands that
/// are not about a referral (they act on C1 or on the network).
fn side(command: &str) -> Option<&'static str> {
    match command {
        "create_referral" | "acknowledge_counter_referral" | "cancel_referral" => Some("C1"),
        "receive_referral"
        | "accept_referral"
        | "reject_referral"
        | "redirect_referral"
        | "escalate_referral"
        | "schedule_referral"
        | "send_counter_referral"
        | "close_referral" => Some("H2"),
        _ => None,
    }
}

/// The actor of one cell.
fn actor(command: &str, role: Role, position: Position) -> Actor {
    let (own, same, other, peer) = match side(command) {
        Some("H2") => ("H2", "H2B", "X2", Some("C1")),
        Some(_) => ("C1", "C2", "X2", Some("H2")),
        None => ("C1", "C2", "X2", None),
    };
    let user = |f: &str| format!("{}@{f}", role.as_str());
    match position {
        Position::Own => staff(role, own),
        Position::OwnOtherAgency => Actor::new(&user(own), "issste", Some(own), role),
        Position::SameAgency => staff(role, same),
        Position::OtherAgency => staff(role, other),
        Position::Peer => staff(role, peer.expect("a peer only for referral commands")),
        Position::Nowhere => Actor::new(&user("nowhere"), agency_of(own), None, role),
    }
}

/// The command of a table line, acting on the prepared records.
fn command(name: &str, p: &Prepared) -> Command {
    let wed = |h, m| mx("2026-03-04", h, m);
    let c = match name {
        "configure_network" => Command::ConfigureNetwork {
            name: "Red Oaxaca".into(),
            targets: vec![],
        },
        "define_service" => Command::DefineService {
            service: Service {
                code: "nutri".into(),
                name: "Nutrition".into(),
                slot_minutes: 20,
            },
        },
        "register_facility" => Command::RegisterFacility {
            facility: Facility {
                id: "C9".into(),
                name: "Unidad C9".into(),
                agency: "bienestar".into(),
                tier: Tier::First,
                region: "oaxaca".into(),
                time_zone: "America/Mexico_City".into(),
                services: vec!["prenatal".into()],
            },
        },
        "declare_holiday" => Command::DeclareHoliday {
            date: date("2026-05-01"),
            name: "Día del Trabajo".into(),
        },
        "define_agreement" => Command::DefineAgreement {
            agreement: Agreement {
                id: "A9".into(),
                receiving_agency: "issste".into(),
                ..agreement()
            },
        },
        "register_beneficiary" => Command::RegisterBeneficiary {
            beneficiary: person(
                "MX-P9",
                vec![cover("imss-bienestar", "bienestar", "2025-01-01", None)],
            ),
        },
        "set_coverage" => Command::SetCoverage {
            beneficiary: "MX-P1".into(),
            coverage: vec![cover("imss-bienestar", "bienestar", "2026-01-01", None)],
        },
        "define_agenda" => Command::DefineAgenda {
            agenda: AgendaConfig {
                id: "C1-new".into(),
                ..agenda_config(&AGENDAS[0])
            },
        },
        "add_closure" => Command::AddClosure {
            agenda: "C1-pre".into(),
            closure: Closure {
                date: date("2026-03-20"),
                from: None,
                to: None,
                reason: "Vaccination campaign".into(),
            },
        },
        "book_appointment" => Command::BookAppointment {
            agenda: "C1-pre".into(),
            start: wed(9, 0),
            beneficiary: "MX-P1".into(),
            follow_up_of: None,
            overbook: false,
        },
        "cancel_appointment" => Command::CancelAppointment {
            appointment: p.booked,
            reason: "Patient asked".into(),
        },
        "reschedule_appointment" => Command::RescheduleAppointment {
            appointment: p.booked,
            agenda: None,
            start: wed(10, 0),
            reason: String::new(),
        },
        "mark_arrived" => Command::MarkArrived {
            appointment: p.booked,
        },
        "mark_fulfilled" => Command::MarkFulfilled {
            appointment: p.arrived,
        },
        "mark_no_show" => Command::MarkNoShow {
            appointment: p.booked,
        },
        "join_waitlist" => Command::JoinWaitlist {
            beneficiary: "MX-P3".into(),
            service: "prenatal".into(),
            facility: Some("C1".into()),
            priority: Priority::Routine,
        },
        "leave_waitlist" => Command::LeaveWaitlist {
            entry: p.entry,
            reason: String::new(),
        },
        "create_referral" => create("MX-P1"),
        "receive_referral" => Command::ReceiveReferral {
            referral: p.requested,
        },
        "accept_referral" => Command::AcceptReferral {
            referral: p.requested,
            note: String::new(),
        },
        "reject_referral" => Command::RejectReferral {
            referral: p.requested,
            reason: RejectReason::CriteriaNotMet,
            text: String::new(),
        },
        "redirect_referral" => Command::RedirectReferral {
            referral: p.requested,
            to: "H2B".into(),
            reason: "Full this week".into(),
        },
        "escalate_referral" => Command::EscalateReferral {
            referral: p.requested,
            to: Some("H3".into()),
            reason: "Needs intensive care".into(),
        },
        "schedule_referral" => Command::ScheduleReferral {
            referral: p.accepted,
            agenda: "H2-obs".into(),
            start: wed(8, 0),
        },
        "send_counter_referral" => Command::SendCounterReferral {
            referral: p.in_progress,
            counter_referral: counter_referral(),
        },
        "acknowledge_counter_referral" => Command::AcknowledgeCounterReferral {
            referral: p.counter_referred,
        },
        "cancel_referral" => Command::CancelReferral {
            referral: p.requested,
            reason: "Delivered at home".into(),
        },
        "close_referral" => Command::CloseReferral {
            referral: p.accepted,
            reason: "Cannot be reached".into(),
        },
        other => panic!("the table names an unknown command {other:?}"),
    };
    assert_eq!(c.name(), name);
    assert_eq!(kind(&c), name);
    c
}

/// The kind of every command, as an exhaustive match: a new kind of
/// command does not compile here until it is added to the table.
fn kind(c: &Command) -> &'static str {
    match c {
        Command::ConfigureNetwork { .. } => "configure_network",
        Command::DefineService { .. } => "define_service",
        Command::RegisterFacility { .. } => "register_facility",
        Command::DefineAgenda { .. } => "define_agenda",
        Command::AddClosure { .. } => "add_closure",
        Command::DeclareHoliday { .. } => "declare_holiday",
        Command::DefineAgreement { .. } => "define_agreement",
        Command::RegisterBeneficiary { .. } => "register_beneficiary",
        Command::SetCoverage { .. } => "set_coverage",
        Command::BookAppointment { .. } => "book_appointment",
        Command::CancelAppointment { .. } => "cancel_appointment",
        Command::RescheduleAppointment { .. } => "reschedule_appointment",
        Command::MarkArrived { .. } => "mark_arrived",
        Command::MarkFulfilled { .. } => "mark_fulfilled",
        Command::MarkNoShow { .. } => "mark_no_show",
        Command::JoinWaitlist { .. } => "join_waitlist",
        Command::LeaveWaitlist { .. } => "leave_waitlist",
        Command::CreateReferral { .. } => "create_referral",
        Command::ReceiveReferral { .. } => "receive_referral",
        Command::AcceptReferral { .. } => "accept_referral",
        Command::RejectReferral { .. } => "reject_referral",
        Command::RedirectReferral { .. } => "redirect_referral",
        Command::EscalateReferral { .. } => "escalate_referral",
        Command::ScheduleReferral { .. } => "schedule_referral",
        Command::SendCounterReferral { .. } => "send_counter_referral",
        Command::AcknowledgeCounterReferral { .. } => "acknowledge_counter_referral",
        Command::CancelReferral { .. } => "cancel_referral",
        Command::CloseReferral { .. } => "close_referral",
    }
}

/// Number of command kinds `kind` knows.
const KINDS: usize = 28;

// --- the test ----------------------------------------------------------------------

struct Mismatch {
    command: String,
    role: Role,
    position: Position,
    actor: Actor,
    expected: &'static str,
    got: String,
}

#[test]
fn the_engine_follows_the_permission_table() {
    let lines = spec();
    // The table is complete: every command kind, every role, once each.
    let mut commands: Vec<&str> = lines.iter().map(|l| l.command.as_str()).collect();
    commands.dedup();
    assert_eq!(commands.len(), KINDS, "one block per command kind");
    for name in &commands {
        let roles: Vec<Role> = lines
            .iter()
            .filter(|l| l.command == *name)
            .map(|l| l.role)
            .collect();
        assert_eq!(roles, Role::ALL, "{name}: one line per role, in order");
        let has_peer = side(name).is_some();
        for l in lines.iter().filter(|l| l.command == *name) {
            let peer = l.cells.iter().find(|c| c.0 == Position::Peer).unwrap().1;
            assert_eq!(peer.is_some(), has_peer, "{name}: the peer column");
            assert!(
                l.cells
                    .iter()
                    .all(|c| c.0 == Position::Peer || c.1.is_some()),
                "{name}: only the peer column may be '-'"
            );
        }
    }

    let prepared = prepare();
    let base = prepared.engine.fingerprint_and_len();
    let mut mismatches: Vec<Mismatch> = Vec::new();
    let mut cells = 0;
    let mut allowed = 0;
    for line in &lines {
        for &(position, expected) in &line.cells {
            let Some(expected) = expected else { continue };
            let who = actor(&line.command, line.role, position);
            let mut e = prepared.engine.clone();
            let result = e.execute(Request {
                actor: who.clone(),
                at: at(),
                key: None,
                command: command(&line.command, &prepared),
            });
            cells += 1;
            let got = match &result {
                Ok(out) => {
                    assert!(!out.events.is_empty());
                    allowed += 1;
                    "ok".to_owned()
                }
                Err(err) => {
                    assert_eq!(
                        e.fingerprint_and_len(),
                        base,
                        "a refused {} changed the network",
                        line.command
                    );
                    err.code().to_owned()
                }
            };
            if got != expected {
                let detail = match &result {
                    Err(err) => format!("{got} ({err})"),
                    Ok(_) => got,
                };
                mismatches.push(Mismatch {
                    command: line.command.clone(),
                    role: line.role,
                    position,
                    actor: who,
                    expected,
                    got: detail,
                });
            }
        }
    }
    if let Some(m) = mismatches.first() {
        panic!(
            "{} of {cells} cells disagree with the table. First: {} by a {} at position `{}` \
             (actor {:?}): the table says {} ({}), the engine says {}.\nAll: {}",
            mismatches.len(),
            m.command,
            m.role.as_str(),
            m.position.label(),
            m.actor,
            short_of(m.expected),
            m.expected,
            m.got,
            mismatches
                .iter()
                .map(|m| format!("{}/{}/{}", m.command, m.role.as_str(), m.position.label()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // Guard against a table that allows nothing or everything.
    assert!(allowed > 50 && allowed < cells / 2, "{allowed} of {cells}");
}

trait Snapshot {
    fn fingerprint_and_len(&self) -> (u64, usize);
}

impl Snapshot for Engine {
    fn fingerprint_and_len(&self) -> (u64, usize) {
        (self.state().fingerprint(), self.journal().len())
    }
}

#[test]
fn each_allowed_cell_does_what_its_command_says() {
    // The allowed cells of the owner's line really change the records they
    // name (a check that the prepared records are the ones meant).
    let p = prepare();
    let run = |command: &str, role: Role| {
        let mut e = p.engine.clone();
        let out = e
            .execute(Request {
                actor: actor(command, role, Position::Own),
                at: at(),
                key: None,
                command: self::command(command, &p),
            })
            .unwrap();
        (e, out)
    };
    use enlace_core::referral::ReferralStatus as S;
    let status = |e: &Engine, id| e.state().referral(id).unwrap().status;
    let (e, _) = run("accept_referral", Role::Coordinator);
    assert_eq!(status(&e, p.requested), S::Accepted);
    let (e, _) = run("schedule_referral", Role::Clerk);
    assert_eq!(status(&e, p.accepted), S::Scheduled);
    let (e, _) = run("send_counter_referral", Role::Clinician);
    assert_eq!(status(&e, p.in_progress), S::CounterReferred);
    let (e, _) = run("acknowledge_counter_referral", Role::Clinician);
    assert_eq!(status(&e, p.counter_referred), S::Completed);
    let (e, _) = run("close_referral", Role::Coordinator);
    assert_eq!(status(&e, p.accepted), S::Closed);
    let (_, out) = run("mark_fulfilled", Role::Clinician);
    assert_eq!(
        out.events,
        [Event::AppointmentFulfilled {
            appointment: p.arrived
        }]
    );
    let (_, out) = run("leave_waitlist", Role::Clerk);
    assert_eq!(out.events[0].name(), "waitlist_left");
    let (_, out) = run("create_referral", Role::Clinician);
    assert_eq!(out.events[0].name(), "referral_created");
}
