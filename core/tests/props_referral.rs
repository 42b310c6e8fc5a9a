//! Model-based property test of the referral loop: arbitrary sequences of
//! referral commands (create, receive, accept, reject, redirect, escalate,
//! schedule, counter-referral, acknowledge, cancel, close), appointment
//! steps on referral appointments (arrive, no-show, cancel, reschedule,
//! fulfil), follow-up bookings and the passing of time, sent by the right
//! actor or by an arbitrary one (origin, destination, a former destination,
//! a third facility, no facility; any role).
//!
//! A small model kept here knows the allowed machine, who may do what, and
//! who may see what. After every command the test checks:
//! - every event the engine accepted moves each referral only along the
//!   machine (each event is applied on its own to a copy of the state and
//!   the referral's status compared with the model's);
//! - a command the model says must be refused is refused with the model's
//!   code (`unknown_referral`, `not_permitted`, `illegal_transition`), and
//!   one the model allows is never refused with those codes;
//! - a refused command changes nothing (state fingerprint and journal);
//! - every completed referral has a counter-referral;
//! - a third facility never sees a referral (queries and commands);
//! - and at the end, replaying the journal gives the same state, and the
//!   event feed's visibility rules agree with `Query::Referral` for every
//!   actor (issue 14).

use chrono::{DateTime, Duration, Utc};
use enlace_core::facility::Tier;
use enlace_core::priority::Priority;
use enlace_core::referral::{
    CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination, FollowUpRequest,
    ReferralStatus, RejectReason,
};
use enlace_core::{Actor, Answer, Command, Engine, Error, Event, Meta, Query, Request, Role};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

// --- fixture -----------------------------------------------------------------

#[path = "common/network.rs"]
mod network;
use network::*;

/// Facilities that never take part in a referral here: C2 refers nobody,
/// T2 offers no obstetrics, X2 has no agreement with Bienestar.
const THIRD: [&str; 3] = ["C2", "T2", "X2"];

fn staff(role: Role, facility: &str) -> Actor {
    Actor::new(
        &format!("{}@{facility}", role.as_str()),
        agency_of(facility),
        Some(facility),
        role,
    )
}

// --- the model -------------------------------------------------------------------

use ReferralStatus as S;

/// What the model knows of one referral.
#[derive(Debug, Clone)]
struct ModelReferral {
    status: S,
    origin: String,
    /// Every facility that has held it, the current destination last.
    destinations: Vec<String>,
    appointment: Option<u32>,
}

impl ModelReferral {
    fn destination(&self) -> &str {
        self.destinations.last().unwrap()
    }
    fn involves(&self, facility: &str) -> bool {
        self.origin == facility || self.destinations.iter().any(|d| d == facility)
    }
}

/// The allowed machine: the status an event leads to from `from`, or why not.
fn machine(event: &str, from: Option<S>) -> Result<Option<S>, String> {
    use S::*;
    let to = match (event, from) {
        ("referral_created", None) => Requested,
        ("referral_received", Some(Requested)) => Received,
        ("referral_accepted", Some(Received)) => Accepted,
        ("referral_rejected", Some(Requested | Received | Accepted)) => Rejected,
        ("referral_redirected" | "referral_escalated", Some(Requested | Received | Accepted)) => {
            Requested
        }
        ("referral_scheduled", Some(Accepted | Scheduled)) => Scheduled,
        ("referral_in_progress", Some(Scheduled)) => InProgress,
        ("referral_no_show", Some(Scheduled)) => Accepted,
        ("appointment_cancelled", Some(Scheduled)) => Accepted,
        ("counter_referral_sent", Some(InProgress)) => CounterReferred,
        ("counter_referral_acknowledged", Some(CounterReferred)) => Completed,
        ("referral_cancelled", Some(s)) if !s.is_terminal() => Cancelled,
        ("referral_closed", Some(Accepted)) => Closed,
        // Steps that name the referral without moving it.
        ("appointment_booked", Some(Accepted | Scheduled)) => return Ok(from),
        ("follow_up_booked", Some(CounterReferred | Completed | Cancelled)) => return Ok(from),
        _ => return Err(format!("{event} is not allowed from {from:?}")),
    };
    Ok(Some(to))
}

#[derive(Debug, Default, Clone)]
struct Model {
    referrals: Vec<ModelReferral>,
    /// Appointment id → the referral it serves.
    appointment_referral: std::collections::HashMap<u32, u32>,
}

impl Model {
    fn get(&self, id: u32) -> Option<&ModelReferral> {
        self.referrals.get((id as usize).wrapping_sub(1))
    }

    /// The referral an event moves, if any.
    fn subject(&self, ev: &Event) -> Option<u32> {
        match ev {
            Event::AppointmentCancelled { appointment, .. } => {
                let r = *self.appointment_referral.get(appointment)?;
                // Only the referral's current appointment moves it.
                (self.get(r)?.appointment == Some(*appointment)).then_some(r)
            }
            _ => ev.referral(),
        }
    }

    /// Applies one event; panics when it breaks the machine.
    fn apply(&mut self, ev: &Event) {
        let Some(id) = self.subject(ev) else {
            return;
        };
        let from = self.get(id).map(|r| r.status);
        let to = machine(ev.name(), from)
            .unwrap_or_else(|why| panic!("referral {id}: {why}"))
            .unwrap();
        match ev {
            Event::ReferralCreated {
                referral,
                origin,
                destination,
                ..
            } => {
                assert_eq!(*referral as usize, self.referrals.len() + 1);
                self.referrals.push(ModelReferral {
                    status: to,
                    origin: origin.clone(),
                    destinations: vec![destination.clone()],
                    appointment: None,
                });
                return;
            }
            Event::ReferralRedirected { to: dest, .. }
            | Event::ReferralEscalated { to: dest, .. } => {
                self.referrals[id as usize - 1]
                    .destinations
                    .push(dest.clone());
            }
            Event::AppointmentBooked { appointment, .. } => {
                self.appointment_referral.insert(*appointment, id);
                self.referrals[id as usize - 1].appointment = Some(*appointment);
            }
            Event::ReferralNoShow { .. } | Event::AppointmentCancelled { .. } => {
                self.referrals[id as usize - 1].appointment = None;
            }
            _ => {}
        }
        self.referrals[id as usize - 1].status = to;
    }
}

// --- actions ------------------------------------------------------------------------

/// Who acts: the actor the command calls for, or anybody.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// A permitted role at the facility the command is done at.
    Right(u8),
    /// Any role (`Role::ALL[role % 5]`) at: 0 the origin, 1 the current
    /// destination, 2 the first destination, 3–5 a third facility, 6 none.
    Any { role: u8, place: u8 },
}

#[derive(Debug, Clone)]
enum Action {
    Create {
        who: Who,
        beneficiary: u8,
        destination: u8,
        priority: u8,
    },
    Receive(Who, u8),
    Accept(Who, u8),
    Reject(Who, u8, bool),
    Redirect(Who, u8, u8),
    Escalate(Who, u8, Option<u8>),
    Schedule(Who, u8, u8, u8),
    SendCounter(Who, u8, bool),
    Acknowledge(Who, u8),
    Cancel(Who, u8),
    Close(Who, u8),
    Arrive(Who, u8),
    NoShow(Who, u8),
    CancelAppointment(Who, u8),
    Reschedule(Who, u8, u8, u8),
    Fulfil(Who, u8),
    FollowUp(Who, u8, u8),
    Wait(u8),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => any::<u8>().prop_map(Who::Right),
        1 => (0u8..5, 0u8..7).prop_map(|(role, place)| Who::Any { role, place }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let r = any::<u8>();
    prop_oneof![
        3 => (who(), 0u8..4, 0u8..9, 0u8..4).prop_map(|(who, beneficiary, destination, priority)| {
            Action::Create { who, beneficiary, destination, priority }
        }),
        2 => (who(), r).prop_map(|(w, r)| Action::Receive(w, r)),
        3 => (who(), r).prop_map(|(w, r)| Action::Accept(w, r)),
        1 => (who(), r, any::<bool>()).prop_map(|(w, r, o)| Action::Reject(w, r, o)),
        1 => (who(), r, 0u8..8).prop_map(|(w, r, t)| Action::Redirect(w, r, t)),
        1 => (who(), r, proptest::option::of(0u8..4)).prop_map(|(w, r, t)| Action::Escalate(w, r, t)),
        4 => (who(), r, 0u8..6, 0u8..4).prop_map(|(w, r, d, s)| Action::Schedule(w, r, d, s)),
        3 => (who(), r, any::<bool>()).prop_map(|(w, r, f)| Action::SendCounter(w, r, f)),
        2 => (who(), r).prop_map(|(w, r)| Action::Acknowledge(w, r)),
        1 => (who(), r).prop_map(|(w, r)| Action::Cancel(w, r)),
        1 => (who(), r).prop_map(|(w, r)| Action::Close(w, r)),
        3 => (who(), r).prop_map(|(w, r)| Action::Arrive(w, r)),
        1 => (who(), r).prop_map(|(w, r)| Action::NoShow(w, r)),
        1 => (who(), r).prop_map(|(w, r)| Action::CancelAppointment(w, r)),
        1 => (who(), r, 0u8..6, 0u8..4).prop_map(|(w, r, d, s)| Action::Reschedule(w, r, d, s)),
        1 => (who(), r).prop_map(|(w, r)| Action::Fulfil(w, r)),
        1 => (who(), r, 0u8..6).prop_map(|(w, r, d)| Action::FollowUp(w, r, d)),
        2 => (0u8..5).prop_map(Action::Wait),
    ]
}

/// Which end of the referral a command is done at, who may do it, and from
/// which statuses.
struct Gate {
    at_origin: bool,
    roles: &'static [Role],
    from: &'static [S],
}

const ASSESS: &[S] = &[S::Requested, S::Received, S::Accepted];
const LIVE: &[S] = &[
    S::Requested,
    S::Received,
    S::Accepted,
    S::Scheduled,
    S::InProgress,
    S::CounterReferred,
];
const DEST_TEAM: &[Role] = &[Role::Coordinator, Role::Clinician];

fn gate(command: &Command) -> Option<Gate> {
    let g = |at_origin, roles, from| {
        Some(Gate {
            at_origin,
            roles,
            from,
        })
    };
    match command {
        Command::ReceiveReferral { .. } => g(false, DEST_TEAM, &[S::Requested]),
        Command::AcceptReferral { .. } => g(false, DEST_TEAM, &[S::Requested, S::Received]),
        Command::RejectReferral { .. } | Command::EscalateReferral { .. } => {
            g(false, DEST_TEAM, ASSESS)
        }
        Command::RedirectReferral { .. } => g(false, &[Role::Coordinator], ASSESS),
        Command::ScheduleReferral { .. } => {
            g(false, &[Role::Coordinator, Role::Clerk], &[S::Accepted])
        }
        Command::SendCounterReferral { .. } => g(false, &[Role::Clinician], &[S::InProgress]),
        Command::AcknowledgeCounterReferral { .. } => g(true, DEST_TEAM, &[S::CounterReferred]),
        Command::CancelReferral { .. } => g(true, DEST_TEAM, LIVE),
        Command::CloseReferral { .. } => g(false, &[Role::Coordinator], &[S::Accepted]),
        _ => None,
    }
}

/// The code the engine must answer with, or `None` when the command passes
/// the model's gates (it may still fail on data: slots, coverage, text).
fn predicted(model: &Model, actor: &Actor, id: u32, g: &Gate) -> Option<&'static str> {
    let Some(r) = model.get(id) else {
        return Some("unknown_referral");
    };
    let sees = matches!(actor.role, Role::Auditor | Role::Admin)
        || actor.facility.as_deref().is_some_and(|f| r.involves(f));
    if !sees {
        return Some("unknown_referral");
    }
    let place = if g.at_origin {
        r.origin.as_str()
    } else {
        r.destination()
    };
    if !g.roles.contains(&actor.role) || actor.facility.as_deref() != Some(place) {
        return Some("not_permitted");
    }
    if !g.from.contains(&r.status) {
        return Some("illegal_transition");
    }
    None
}

/// The agenda of a facility for obstetrics (or prenatal care at clinics).
fn agenda_of(facility: &str) -> Option<&'static AgendaRow> {
    AGENDAS.iter().find(|a| a.1 == facility)
}

/// A start in an agenda: `day` days after `now`'s local date, `slot`
/// half-hours after the agenda's first hour.
fn start_in(row: &AgendaRow, now: DateTime<Utc>, day: u8, slot: u8) -> DateTime<Utc> {
    let local = (now - Duration::hours(6)).date_naive() + Duration::days(i64::from(day));
    let (h, m) = row.3;
    mx(&local.to_string(), h, m) + Duration::minutes(30 * i64::from(slot))
}

struct Harness {
    e: Engine,
    model: Model,
    now: DateTime<Utc>,
    accepted: usize,
    refused: usize,
    /// Outcomes per command name, for the coverage test.
    outcomes: std::collections::BTreeMap<String, usize>,
}

impl Harness {
    /// The network with one referral to start from (MX-P1, C1 → H2).
    fn new() -> Self {
        let mut h = Harness {
            e: network(),
            model: Model::default(),
            now: now(),
            accepted: 0,
            refused: 0,
            outcomes: Default::default(),
        };
        h.step(&Action::Create {
            who: Who::Right(0),
            beneficiary: 0,
            destination: 0,
            priority: 1,
        });
        assert_eq!(h.model.referrals.len(), 1);
        h
    }

    /// The referral an index points at: any existing one, or one past the last.
    fn pick(&self, r: u8) -> u32 {
        let n = self.model.referrals.len();
        (r as usize % (n + 1)) as u32 + 1
    }

    /// Mostly a referral in one of `statuses` (so that workflows move on),
    /// sometimes any referral or a missing one.
    fn pick_in(&self, r: u8, statuses: &[S]) -> u32 {
        let fit: Vec<u32> = (1..=self.model.referrals.len() as u32)
            .filter(|&id| statuses.contains(&self.model.get(id).unwrap().status))
            .collect();
        let n = self.model.referrals.len();
        if r.is_multiple_of(8) || n == 0 {
            self.pick(r / 8)
        } else if fit.is_empty() {
            (r / 8) as u32 % n as u32 + 1
        } else {
            fit[(r / 8) as usize % fit.len()]
        }
    }

    /// The actor for a command about referral `id`.
    fn actor(&self, who: Who, id: u32, at_origin: bool, roles: &[Role]) -> Actor {
        let r = self.model.get(id);
        let origin = r.map_or("C1", |r| r.origin.as_str());
        let current = r.map_or("H2", |r| r.destination());
        let first = r.map_or("H2", |r| r.destinations[0].as_str());
        match who {
            Who::Right(k) => {
                let place = if at_origin { origin } else { current };
                staff(roles[k as usize % roles.len()], place)
            }
            Who::Any { role, place } => {
                let role = Role::ALL[role as usize % 5];
                match place {
                    0 => staff(role, origin),
                    1 => staff(role, current),
                    2 => staff(role, first),
                    3..=5 => staff(role, THIRD[place as usize - 3]),
                    _ => Actor::new(&format!("{}@nowhere", role.as_str()), "salud", None, role),
                }
            }
        }
    }

    fn step(&mut self, action: &Action) {
        let (actor, command) = match self.command(action) {
            Some(x) => x,
            None => return,
        };
        self.execute(&actor, command);
        self.check_invariants();
    }

    /// The actor and command an action stands for (`None`: nothing to do).
    fn command(&mut self, action: &Action) -> Option<(Actor, Command)> {
        let cmd = |who: Who, r: u8, build: &dyn Fn(u32) -> Command| {
            let g = gate(&build(0)).unwrap();
            let id = self.pick_in(r, g.from);
            let c = build(id);
            (self.actor(who, id, g.at_origin, g.roles), c)
        };
        Some(match *action {
            Action::Create {
                who,
                beneficiary,
                destination,
                priority,
            } => {
                // Only C1 refers; a third facility must stay one.
                let role = match who {
                    Who::Right(_) => Role::Clinician,
                    Who::Any { role, .. } => Role::ALL[role as usize % 5],
                };
                let destination = match destination {
                    0 => Destination::Facility("H2".into()),
                    1 => Destination::Facility("H2B".into()),
                    2 => Destination::Facility("HB2".into()),
                    3 => Destination::Facility("H3".into()),
                    4 => Destination::Facility("X2".into()),
                    5 => Destination::Facility("T2".into()),
                    6 => Destination::Tier(Tier::Third),
                    _ => Destination::Tier(Tier::Second),
                };
                (
                    staff(role, "C1"),
                    Command::CreateReferral {
                        beneficiary: ["MX-P1", "MX-P2", "MX-P3", "MX-I1"][beneficiary as usize % 4]
                            .into(),
                        service: "obs-hr".into(),
                        destination,
                        priority: Priority::ALL[priority as usize % 4],
                        reason: ClinicalReason {
                            icd10: vec!["O14.1".into()],
                            text: "Pre-eclampsia".into(),
                        },
                        attachments: vec![],
                    },
                )
            }
            Action::Receive(w, r) => cmd(w, r, &|id| Command::ReceiveReferral { referral: id }),
            Action::Accept(w, r) => cmd(w, r, &|id| Command::AcceptReferral {
                referral: id,
                note: String::new(),
            }),
            Action::Reject(w, r, other) => cmd(w, r, &|id| Command::RejectReferral {
                referral: id,
                reason: if other {
                    RejectReason::Other
                } else {
                    RejectReason::CriteriaNotMet
                },
                text: if other {
                    String::new()
                } else {
                    "Low risk".into()
                },
            }),
            Action::Redirect(w, r, to) => cmd(w, r, &|id| Command::RedirectReferral {
                referral: id,
                to: ["H2", "H2B", "HB2", "H3", "H3B", "X2", "T2", "C1"][to as usize % 8].into(),
                reason: "Full".into(),
            }),
            Action::Escalate(w, r, to) => cmd(w, r, &|id| Command::EscalateReferral {
                referral: id,
                to: to.map(|t| ["H3", "H3B", "H2B", "X2"][t as usize % 4].to_owned()),
                reason: "Needs more".into(),
            }),
            Action::Schedule(w, r, day, slot) => {
                let id = self.pick_in(r, &[S::Accepted]);
                let dest = self
                    .model
                    .get(id)
                    .map_or("H2", |r| r.destination())
                    .to_owned();
                let row = agenda_of(&dest).unwrap_or(&AGENDAS[2]);
                let start = start_in(row, self.now, day, slot);
                cmd(w, r, &|id| Command::ScheduleReferral {
                    referral: id,
                    agenda: row.0.into(),
                    start,
                })
            }
            Action::SendCounter(w, r, follow_up) => cmd(w, r, &|id| Command::SendCounterReferral {
                referral: id,
                counter_referral: CounterReferral {
                    summary: CareSummary {
                        diagnoses: vec!["O14.1".into()],
                        procedures: vec![],
                        outcome: CareOutcome::Improved,
                        text: String::new(),
                    },
                    instructions: "Weekly control".into(),
                    follow_up: follow_up.then(|| FollowUpRequest {
                        service: "prenatal".into(),
                        within_days: 10,
                        note: String::new(),
                    }),
                },
            }),
            Action::Acknowledge(w, r) => cmd(w, r, &|id| Command::AcknowledgeCounterReferral {
                referral: id,
            }),
            Action::Cancel(w, r) => cmd(w, r, &|id| Command::CancelReferral {
                referral: id,
                reason: "Withdrawn".into(),
            }),
            Action::Close(w, r) => cmd(w, r, &|id| Command::CloseReferral {
                referral: id,
                reason: "Unreachable".into(),
            }),
            Action::Arrive(w, r)
            | Action::NoShow(w, r)
            | Action::CancelAppointment(w, r)
            | Action::Reschedule(w, r, ..)
            | Action::Fulfil(w, r) => {
                // The referral's last appointment, whatever its state.
                let wanted: &[S] = match action {
                    Action::Fulfil(..) => &[S::InProgress],
                    _ => &[S::Scheduled],
                };
                let id = self.pick_in(r, wanted);
                let appointment = *self
                    .model
                    .appointment_referral
                    .iter()
                    .filter(|(_, rr)| **rr == id)
                    .map(|(a, _)| a)
                    .max()?;
                let start = self.start_of(appointment);
                let roles: &[Role] = match action {
                    Action::Fulfil(..) => &[Role::Clinician],
                    _ => &[Role::Clerk, Role::Coordinator, Role::Clinician],
                };
                let actor = self.actor(w, id, false, roles);
                let command = match *action {
                    Action::Arrive(..) => {
                        // Walk up to the appointment when it is ahead.
                        self.now = self.now.max(start - Duration::minutes(10));
                        Command::MarkArrived { appointment }
                    }
                    Action::NoShow(..) => {
                        self.now = self.now.max(start + Duration::minutes(20));
                        Command::MarkNoShow { appointment }
                    }
                    Action::CancelAppointment(..) => Command::CancelAppointment {
                        appointment,
                        reason: "Patient asked".into(),
                    },
                    Action::Reschedule(_, _, day, slot) => {
                        let dest = self.model.get(id).unwrap().destination().to_owned();
                        let row = agenda_of(&dest).unwrap_or(&AGENDAS[2]);
                        Command::RescheduleAppointment {
                            appointment,
                            agenda: None,
                            start: start_in(row, self.now, day, slot),
                            reason: String::new(),
                        }
                    }
                    _ => Command::MarkFulfilled { appointment },
                };
                (actor, command)
            }
            Action::FollowUp(w, r, day) => {
                let id = self.pick_in(r, &[S::CounterReferred, S::Completed]);
                // The origin's clerk, or a third clinic's.
                let clinic = if matches!(w, Who::Right(_)) {
                    "C1"
                } else {
                    "C2"
                };
                let row = agenda_of(clinic).unwrap();
                (
                    staff(Role::Clerk, clinic),
                    Command::BookAppointment {
                        agenda: row.0.into(),
                        start: start_in(row, self.now, day, 1),
                        beneficiary: self
                            .e
                            .state()
                            .referral(id)
                            .map_or("MX-P1".to_owned(), |r| r.beneficiary.clone()),
                        follow_up_of: Some(id),
                        overbook: false,
                    },
                )
            }
            Action::Wait(k) => {
                let minutes = [0, 30, 180, 1440, 3 * 1440][k as usize % 5];
                self.now += Duration::minutes(minutes);
                return None;
            }
        })
    }

    fn start_of(&self, appointment: u32) -> DateTime<Utc> {
        self.e
            .journal()
            .iter()
            .flat_map(|x| &x.events)
            .find_map(|ev| match ev {
                Event::AppointmentBooked {
                    appointment: a,
                    start,
                    ..
                } if *a == appointment => Some(*start),
                _ => None,
            })
            .unwrap()
    }

    fn execute(&mut self, actor: &Actor, command: Command) {
        let name = command.name();
        let before = (self.e.state().fingerprint(), self.e.journal().len());
        let state_before = self.e.state().clone();
        // What the model says of referral commands.
        let expected = match (&command, gate(&command)) {
            (_, Some(g)) => {
                let id = referral_of(&command).unwrap();
                predicted(&self.model, actor, id, &g)
            }
            (
                Command::BookAppointment {
                    follow_up_of: Some(id),
                    ..
                },
                None,
            ) => {
                // A clinic that is not part of the referral learns nothing.
                let r = self.model.get(*id);
                let clinic = actor.facility.as_deref().unwrap();
                (r.is_none_or(|r| !r.involves(clinic))).then_some("unknown_referral")
            }
            _ => None,
        };
        let result = self.e.execute(Request {
            actor: actor.clone(),
            at: self.now,
            key: None,
            command: command.clone(),
        });
        match result {
            Err(err) => {
                self.refused += 1;
                *self
                    .outcomes
                    .entry(format!("{name}: {}", err.code()))
                    .or_default() += 1;
                assert_eq!(
                    (self.e.state().fingerprint(), self.e.journal().len()),
                    before,
                    "refused {name} ({err}) changed something"
                );
                if let Some(code) = expected {
                    assert_eq!(err.code(), code, "{name} by {actor:?}: {err}");
                } else {
                    assert!(
                        !matches!(
                            err.code(),
                            "unknown_referral" | "not_permitted" | "illegal_transition"
                        ) || gate(&command).is_none(),
                        "{name} by {actor:?} passes the model's gates but was refused: {err}"
                    );
                }
                if let Some(id) = referral_of(&command)
                    && actor
                        .facility
                        .as_deref()
                        .is_some_and(|f| THIRD.contains(&f))
                    && !matches!(actor.role, Role::Auditor | Role::Admin)
                    && (gate(&command).is_some()
                        || matches!(command, Command::BookAppointment { .. }))
                {
                    assert_eq!(err, Error::UnknownReferral(id), "{name} by {actor:?}");
                }
            }
            Ok(out) => {
                self.accepted += 1;
                *self.outcomes.entry(format!("{name}: ok")).or_default() += 1;
                if let Some(code) = expected {
                    panic!("{name} by {actor:?} accepted; the model expected {code}");
                }
                assert!(!out.replayed);
                // Each event on its own, against the model.
                let mut state = state_before;
                let seq = out.seq;
                for ev in &out.events {
                    let subject = self.model.subject(ev);
                    self.model.apply(ev);
                    state.apply(
                        &Meta {
                            seq,
                            at: self.now,
                            actor,
                        },
                        ev,
                    );
                    if let Some(id) = subject {
                        assert_eq!(
                            state.referral(id).map(|r| r.status),
                            Some(self.model.get(id).unwrap().status),
                            "referral {id} after {} of {name}",
                            ev.name()
                        );
                    }
                }
            }
        }
    }

    fn check_invariants(&self) {
        let state = self.e.state();
        assert_eq!(state.referral_count(), self.model.referrals.len());
        let at = self.now;
        for (i, m) in self.model.referrals.iter().enumerate() {
            let id = i as u32 + 1;
            let r = state.referral(id).unwrap();
            assert_eq!(r.status, m.status, "referral {id}");
            assert_eq!(r.destinations, m.destinations, "referral {id}");
            assert_eq!(r.destination, m.destination());
            assert_eq!(r.appointment, m.appointment, "referral {id}");
            if matches!(r.status, S::Completed | S::CounterReferred) {
                assert!(
                    r.counter_referral.is_some(),
                    "referral {id} without a counter-referral"
                );
            }
            if r.status == S::Completed {
                assert!(
                    r.timeline
                        .iter()
                        .any(|s| s.event == "counter_referral_sent"),
                    "referral {id}"
                );
            }
            // Third facilities never take part, and see nothing.
            for third in THIRD {
                assert!(!r.involves(third), "referral {id} reached {third}");
                for role in [Role::Clerk, Role::Clinician, Role::Coordinator] {
                    let actor = staff(role, third);
                    assert_eq!(
                        self.e.query(&actor, &Query::Referral { referral: id }, at),
                        Err(Error::UnknownReferral(id))
                    );
                }
            }
        }
        for third in THIRD {
            let actor = staff(Role::Coordinator, third);
            let Ok(Answer::Worklist(w)) = self.e.query(
                &actor,
                &Query::Worklist {
                    facility: third.into(),
                    limit: 100,
                    offset: 0,
                },
                at,
            ) else {
                panic!("worklist of {third}")
            };
            assert_eq!(w.total, 0);
            let Ok(Answer::Referrals(out)) = self.e.query(
                &actor,
                &Query::OutgoingReferrals {
                    facility: third.into(),
                },
                at,
            ) else {
                panic!("outgoing referrals of {third}")
            };
            assert!(out.is_empty());
        }
    }

    /// The event feed's rules (`Visibility`) agree with the queries': every
    /// front-line actor of every facility sees a referral's events exactly
    /// when `Query::Referral` shows them that referral; auditors see
    /// everything.
    fn check_visibility(&self) {
        let journal = self.e.journal();
        let vis = enlace_core::visibility::Visibility::from_entries(journal);
        let mut actors: Vec<Actor> = FACILITIES
            .iter()
            .flat_map(|&(f, ..)| {
                [Role::Clerk, Role::Clinician, Role::Coordinator].map(|r| staff(r, f))
            })
            .collect();
        actors.push(Actor::new("auditor", "imss", None, Role::Auditor));
        let mut checked = 0;
        for actor in &actors {
            let mut shown = std::collections::BTreeMap::new();
            for entry in journal {
                for ev in &entry.events {
                    let Some(id) = ev.referral() else { continue };
                    let query_sees = *shown.entry(id).or_insert_with(|| {
                        self.e
                            .query(actor, &Query::Referral { referral: id }, self.now)
                            .is_ok()
                    });
                    assert_eq!(
                        vis.may_see(actor, ev),
                        query_sees,
                        "{}: the feed and Query::Referral disagree on {ev:?}",
                        actor.user
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 0);
    }

    fn check_replay(&self) {
        let replay = Engine::from_entries(self.e.journal().to_vec()).expect("the journal verifies");
        assert_eq!(replay.state().fingerprint(), self.e.state().fingerprint());
        assert_eq!(replay.journal(), self.e.journal());
        // A snapshot taken halfway, plus the entries after it, is the same
        // state too, and verifies the same tail.
        let journal = self.e.journal();
        let half = journal.len() / 2;
        let before = Engine::from_entries(journal[..half].to_vec()).expect("a prefix verifies");
        let restored = Engine::from_snapshot(&before.snapshot(), journal[half..].to_vec())
            .expect("the snapshot restores");
        assert_eq!(restored.state().fingerprint(), self.e.state().fingerprint());
        assert_eq!(restored.base(), half as u64);
        assert!(restored.verify().broken.is_none());
    }
}

fn referral_of(c: &Command) -> Option<u32> {
    match c {
        Command::ReceiveReferral { referral }
        | Command::AcceptReferral { referral, .. }
        | Command::RejectReferral { referral, .. }
        | Command::RedirectReferral { referral, .. }
        | Command::EscalateReferral { referral, .. }
        | Command::ScheduleReferral { referral, .. }
        | Command::SendCounterReferral { referral, .. }
        | Command::AcknowledgeCounterReferral { referral }
        | Command::CancelReferral { referral, .. }
        | Command::CloseReferral { referral, .. } => Some(*referral),
        Command::BookAppointment { follow_up_of, .. } => *follow_up_of,
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/props_referral.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_referral_workflows_keep_the_machine(
        actions in prop::collection::vec(action(), 1..100),
    ) {
        let mut h = Harness::new();
        for a in &actions {
            h.step(a);
        }
        h.check_replay();
        h.check_visibility();
    }
}

/// The generator reaches every status, so the properties above are tested
/// on real workflows (a fixed seed keeps this deterministic).
#[test]
fn the_workflows_reach_every_status() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut seen = std::collections::BTreeSet::new();
    let (mut accepted, mut refused) = (0, 0);
    let mut outcomes = std::collections::BTreeMap::new();
    for _ in 0..24 {
        let actions = prop::collection::vec(action(), 80..100)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut h = Harness::new();
        for a in &actions {
            h.step(a);
            for id in 1..=h.model.referrals.len() as u32 {
                seen.insert(h.e.state().referral(id).unwrap().status.as_str());
            }
        }
        h.check_replay();
        h.check_visibility();
        accepted += h.accepted;
        refused += h.refused;
        for (k, v) in h.outcomes {
            *outcomes.entry(k).or_insert(0) += v;
        }
    }
    let all: std::collections::BTreeSet<&str> = [
        S::Requested,
        S::Received,
        S::Accepted,
        S::Scheduled,
        S::InProgress,
        S::CounterReferred,
        S::Completed,
        S::Rejected,
        S::Cancelled,
        S::Closed,
    ]
    .iter()
    .map(|s| s.as_str())
    .collect();
    println!("{accepted} accepted, {refused} refused: {outcomes:#?}");
    assert_eq!(seen, all, "statuses reached; outcomes: {outcomes:#?}");
    assert!(
        accepted > 100 && refused > 100,
        "{accepted} accepted, {refused} refused"
    );
}
