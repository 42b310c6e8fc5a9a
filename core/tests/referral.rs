//! Tests of the referral half of the engine: the referral and
//! counter-referral life cycle with every transition and its refusals,
//! agreements and coverage, routing, target times, the worklist, the breach
//! report, the timeline, the conditionality report and the visibility rule.
//!
//! The fixture is a small Mexican network (America/Mexico_City is UTC-6 all
//! year since 2022, so local times are plain offsets): first-level clinics of
//! IMSS-Bienestar refer high-risk pregnancies to IMSS hospitals under one
//! agreement; a Bienestar hospital needs no agreement; an ISSSTE hospital has
//! none.

use chrono::{DateTime, Duration, Utc};
use enlace_core::agreement::Agreement;
use enlace_core::appointment::AppointmentStatus;
use enlace_core::facility::Tier;
use enlace_core::priority::Priority;
use enlace_core::query::{AppointmentView, Attendance, Breach, WorkItem, Worklist};
use enlace_core::referral::routing::{Exclusion, Routing};
use enlace_core::referral::{
    CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination, FollowUpRequest,
    Referral, ReferralStatus, RejectReason, TargetTimes,
};
use enlace_core::{Actor, Answer, Command, Engine, Error, Event, Outcome, Query, Request, Role};

// --- fixture -----------------------------------------------------------------

#[path = "common/network.rs"]
mod network;
use network::*;

// --- execution helpers ---------------------------------------------------------

fn req(actor: &Actor, at: DateTime<Utc>, command: Command) -> Request {
    Request {
        actor: actor.clone(),
        at,
        key: None,
        command,
    }
}

/// Executes a command that must be refused; checks that neither the state
/// nor the journal changed, and returns the error.
fn refuse_at(e: &mut Engine, actor: &Actor, at: DateTime<Utc>, command: Command) -> Error {
    let before = e.state().fingerprint();
    let len = e.journal().len();
    let name = command.name();
    let err = match e.execute(req(actor, at, command)) {
        Ok(out) => panic!("{name} by {} accepted: {:?}", actor.user, out.events),
        Err(err) => err,
    };
    assert_eq!(
        e.state().fingerprint(),
        before,
        "refused {name} changed the state"
    );
    assert_eq!(e.journal().len(), len, "refused {name} wrote the journal");
    err
}

fn refuse(e: &mut Engine, actor: &Actor, command: Command) -> Error {
    refuse_at(e, actor, now(), command)
}

fn ask(e: &Engine, actor: &Actor, at: DateTime<Utc>, q: Query) -> Answer {
    e.query(actor, &q, at)
        .unwrap_or_else(|err| panic!("{q:?} by {} refused: {err}", actor.user))
}

fn names(out: &Outcome) -> Vec<&'static str> {
    out.events.iter().map(Event::name).collect()
}

fn referral(e: &Engine, id: u32) -> &Referral {
    e.state().referral(id).unwrap()
}

fn status(e: &Engine, id: u32) -> ReferralStatus {
    referral(e, id).status
}

fn booked_id(out: &Outcome) -> u32 {
    out.events
        .iter()
        .find_map(|ev| match ev {
            Event::AppointmentBooked { appointment, .. } => Some(*appointment),
            _ => None,
        })
        .expect("an appointment_booked event")
}

fn referral_id(out: &Outcome) -> u32 {
    match &out.events[0] {
        Event::ReferralCreated { referral, .. } => *referral,
        other => panic!("expected referral_created, got {other:?}"),
    }
}

fn appointments_of(e: &Engine, beneficiary: &str) -> Vec<AppointmentView> {
    match ask(
        e,
        &auditor(),
        now(),
        Query::BeneficiaryAppointments {
            beneficiary: beneficiary.into(),
        },
    ) {
        Answer::Appointments(list) => list,
        other => panic!("{other:?}"),
    }
}

fn appointment(e: &Engine, beneficiary: &str, id: u32) -> AppointmentView {
    appointments_of(e, beneficiary)
        .into_iter()
        .find(|a| a.id == id)
        .unwrap()
}

// --- command builders ----------------------------------------------------------

fn reason() -> ClinicalReason {
    ClinicalReason {
        icd10: vec!["O14.1".into()],
        text: "Severe pre-eclampsia at 32 weeks".into(),
    }
}

fn create(beneficiary: &str, destination: Destination, priority: Priority) -> Command {
    Command::CreateReferral {
        beneficiary: beneficiary.into(),
        service: "obs-hr".into(),
        destination,
        priority,
        reason: reason(),
        attachments: vec![],
    }
}

fn create_to(beneficiary: &str, facility: &str, priority: Priority) -> Command {
    create(
        beneficiary,
        Destination::Facility(facility.into()),
        priority,
    )
}

fn receive(id: u32) -> Command {
    Command::ReceiveReferral { referral: id }
}
fn accept(id: u32) -> Command {
    Command::AcceptReferral {
        referral: id,
        note: "Seen by the obstetric team".into(),
    }
}
fn reject(id: u32, reason: RejectReason, text: &str) -> Command {
    Command::RejectReferral {
        referral: id,
        reason,
        text: text.into(),
    }
}
fn redirect(id: u32, to: &str) -> Command {
    Command::RedirectReferral {
        referral: id,
        to: to.into(),
        reason: "No obstetric anaesthetist this week".into(),
    }
}
fn escalate(id: u32, to: Option<&str>) -> Command {
    Command::EscalateReferral {
        referral: id,
        to: to.map(str::to_owned),
        reason: "Needs neonatal intensive care".into(),
    }
}
fn schedule(id: u32, agenda: &str, start: DateTime<Utc>) -> Command {
    Command::ScheduleReferral {
        referral: id,
        agenda: agenda.into(),
        start,
    }
}
fn counter_referral(follow_up: Option<&str>) -> CounterReferral {
    CounterReferral {
        summary: CareSummary {
            diagnoses: vec!["O14.1".into()],
            procedures: vec!["Magnesium sulfate".into()],
            outcome: CareOutcome::Improved,
            text: "Blood pressure controlled".into(),
        },
        instructions: "Blood pressure every week".into(),
        follow_up: follow_up.map(|service| FollowUpRequest {
            service: service.into(),
            within_days: 7,
            note: "Check proteinuria".into(),
        }),
    }
}
fn send_counter(id: u32) -> Command {
    Command::SendCounterReferral {
        referral: id,
        counter_referral: counter_referral(Some("prenatal")),
    }
}
fn acknowledge(id: u32) -> Command {
    Command::AcknowledgeCounterReferral { referral: id }
}
fn cancel(id: u32) -> Command {
    Command::CancelReferral {
        referral: id,
        reason: "Delivered at the clinic".into(),
    }
}
fn close(id: u32) -> Command {
    Command::CloseReferral {
        referral: id,
        reason: "Patient cannot be reached".into(),
    }
}
fn book(agenda: &str, start: DateTime<Utc>, beneficiary: &str) -> Command {
    Command::BookAppointment {
        agenda: agenda.into(),
        start,
        beneficiary: beneficiary.into(),
        follow_up_of: None,
        overbook: false,
    }
}

/// Tuesday 08:00 in Mexico City: the first place of `H2-obs` used below.
fn tue8() -> DateTime<Utc> {
    mx("2026-03-03", 8, 0)
}

/// Creates a referral of MX-P1 from C1 to H2 (urgent) and drives it to
/// `target` by the shortest path. Returns its id and its appointment, if any.
fn drive(e: &mut Engine, target: ReferralStatus) -> (u32, Option<u32>) {
    use ReferralStatus::*;
    let id = referral_id(&ok(
        e,
        &dr("C1"),
        create_to("MX-P1", "H2", Priority::Urgent),
    ));
    let mut appt = None;
    match target {
        Requested => {}
        Received => {
            ok(e, &coord("H2"), receive(id));
        }
        Rejected => {
            ok(
                e,
                &coord("H2"),
                reject(id, RejectReason::CriteriaNotMet, "Low risk"),
            );
        }
        Cancelled => {
            ok(e, &dr("C1"), cancel(id));
        }
        Accepted | Scheduled | InProgress | CounterReferred | Completed | Closed => {
            ok(e, &coord("H2"), accept(id));
            if target == Accepted {
                return (id, None);
            }
            let a = booked_id(&ok(e, &coord("H2"), schedule(id, "H2-obs", tue8())));
            appt = Some(a);
            if target == Closed {
                ok_at(
                    e,
                    &clerk("H2"),
                    tue8() + Duration::minutes(30),
                    Command::MarkNoShow { appointment: a },
                );
                ok_at(e, &coord("H2"), tue8() + Duration::minutes(31), close(id));
            } else if target != Scheduled {
                ok_at(
                    e,
                    &clerk("H2"),
                    tue8(),
                    Command::MarkArrived { appointment: a },
                );
                if target != InProgress {
                    ok_at(
                        e,
                        &dr("H2"),
                        tue8() + Duration::minutes(40),
                        send_counter(id),
                    );
                }
                if target == Completed {
                    ok_at(e, &dr("C1"), tue8() + Duration::hours(2), acknowledge(id));
                }
            }
        }
    }
    assert_eq!(status(e, id), target, "drive reached the wrong status");
    (id, appt)
}

const ALL_STATUSES: [ReferralStatus; 10] = [
    ReferralStatus::Requested,
    ReferralStatus::Received,
    ReferralStatus::Accepted,
    ReferralStatus::Scheduled,
    ReferralStatus::InProgress,
    ReferralStatus::CounterReferred,
    ReferralStatus::Completed,
    ReferralStatus::Rejected,
    ReferralStatus::Cancelled,
    ReferralStatus::Closed,
];

// --- the life cycle -------------------------------------------------------------

/// One referral command, the actor entitled to it, the statuses it is
/// allowed from and the status it leads to.
struct Step {
    name: &'static str,
    actor: fn() -> Actor,
    command: fn(u32) -> Command,
    from: &'static [ReferralStatus],
    to: ReferralStatus,
}

fn steps() -> Vec<Step> {
    use ReferralStatus::*;
    const ASSESSING: &[ReferralStatus] = &[Requested, Received, Accepted];
    vec![
        Step {
            name: "receive",
            actor: || coord("H2"),
            command: receive,
            from: &[Requested],
            to: Received,
        },
        Step {
            name: "accept",
            actor: || coord("H2"),
            command: accept,
            from: &[Requested, Received],
            to: Accepted,
        },
        Step {
            name: "reject",
            actor: || coord("H2"),
            command: |id| reject(id, RejectReason::ServiceNotAvailable, ""),
            from: ASSESSING,
            to: Rejected,
        },
        Step {
            name: "redirect",
            actor: || coord("H2"),
            command: |id| redirect(id, "H2B"),
            from: ASSESSING,
            to: Requested,
        },
        Step {
            name: "escalate",
            actor: || coord("H2"),
            command: |id| escalate(id, Some("H3")),
            from: ASSESSING,
            to: Requested,
        },
        Step {
            name: "schedule",
            actor: || coord("H2"),
            command: |id| schedule(id, "H2-obs", mx("2026-03-04", 8, 0)),
            from: &[Accepted],
            to: Scheduled,
        },
        Step {
            name: "send a counter-referral for",
            actor: || dr("H2"),
            command: send_counter,
            from: &[InProgress],
            to: CounterReferred,
        },
        Step {
            name: "acknowledge",
            actor: || dr("C1"),
            command: acknowledge,
            from: &[CounterReferred],
            to: Completed,
        },
        Step {
            name: "cancel",
            actor: || dr("C1"),
            command: cancel,
            from: &[
                Requested,
                Received,
                Accepted,
                Scheduled,
                InProgress,
                CounterReferred,
            ],
            to: Cancelled,
        },
        Step {
            name: "close",
            actor: || coord("H2"),
            command: close,
            from: &[Accepted],
            to: Closed,
        },
    ]
}

#[test]
fn every_step_from_every_status_is_allowed_or_an_illegal_transition() {
    // After every driven path has ended (Tuesday 10:00).
    let later = mx("2026-03-03", 12, 0);
    let mut checked = 0;
    for from in ALL_STATUSES {
        let mut base = network();
        let (id, _) = drive(&mut base, from);
        for step in steps() {
            let mut e = base.clone();
            let actor = (step.actor)();
            if step.from.contains(&from) {
                let out = e
                    .execute(req(&actor, later, (step.command)(id)))
                    .unwrap_or_else(|err| {
                        panic!("{} from {} refused: {err}", step.name, from.as_str())
                    });
                assert!(!out.replayed);
                assert_eq!(
                    status(&e, id),
                    step.to,
                    "{} from {} led to the wrong status",
                    step.name,
                    from.as_str()
                );
            } else {
                let err = refuse_at(&mut e, &actor, later, (step.command)(id));
                assert_eq!(
                    err.code(),
                    "illegal_transition",
                    "{} from {}: {err}",
                    step.name,
                    from.as_str()
                );
                let d = err.details();
                assert_eq!(d["referral"], id.to_string());
                assert_eq!(d["status"], from.as_str());
                assert_eq!(d["action"], step.name);
                assert_eq!(err.to_body().code, "illegal_transition");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 100);
}

#[test]
fn the_whole_loop_with_follow_up_at_the_origin() {
    let mut e = network();
    let out = ok(
        &mut e,
        &dr("C1"),
        Command::CreateReferral {
            beneficiary: "MX-P1".into(),
            service: "obs-hr".into(),
            destination: Destination::Facility("H2".into()),
            priority: Priority::Urgent,
            reason: reason(),
            attachments: vec![enlace_core::referral::Attachment {
                id: "lab-123".into(),
                media_type: "application/pdf".into(),
                title: "Proteinuria".into(),
            }],
        },
    );
    assert_eq!(names(&out), ["referral_created"]);
    let id = referral_id(&out);
    assert_eq!(id, 1);
    let r = referral(&e, id);
    assert_eq!(r.status, ReferralStatus::Requested);
    assert_eq!(r.origin, "C1");
    assert_eq!(r.origin_agency, "bienestar");
    assert_eq!(r.destination, "H2");
    assert_eq!(r.agreement.as_deref(), Some("A1"));
    assert_eq!(r.attachments.len(), 1);

    let out = ok(&mut e, &coord("H2"), receive(id));
    assert_eq!(names(&out), ["referral_received"]);
    let out = ok(&mut e, &dr("H2"), accept(id));
    assert_eq!(names(&out), ["referral_accepted"]);
    assert_eq!(referral(&e, id).accepted_at, Some(now()));

    let out = ok(&mut e, &clerk("H2"), schedule(id, "H2-obs", tue8()));
    assert_eq!(names(&out), ["appointment_booked", "referral_scheduled"]);
    let appt = booked_id(&out);
    assert_eq!(referral(&e, id).appointment, Some(appt));
    assert_eq!(appointment(&e, "MX-P1", appt).referral, Some(id));

    let out = ok_at(
        &mut e,
        &clerk("H2"),
        tue8(),
        Command::MarkArrived { appointment: appt },
    );
    assert_eq!(names(&out), ["appointment_arrived", "referral_in_progress"]);
    assert_eq!(status(&e, id), ReferralStatus::InProgress);

    // Only the destination's clinicians write counter-referrals, and they
    // must be complete.
    let at = tue8() + Duration::minutes(40);
    let err = refuse_at(&mut e, &coord("H2"), at, send_counter(id));
    assert_eq!(err.code(), "not_permitted");
    let mut empty = counter_referral(None);
    empty.summary.diagnoses.clear();
    let err = refuse_at(
        &mut e,
        &dr("H2"),
        at,
        Command::SendCounterReferral {
            referral: id,
            counter_referral: empty,
        },
    );
    assert_eq!(err.details()["field"], "summary.diagnoses");
    let err = refuse_at(
        &mut e,
        &dr("H2"),
        at,
        Command::SendCounterReferral {
            referral: id,
            counter_referral: counter_referral(Some("obs-hr")),
        },
    );
    assert_eq!(err.code(), "service_not_offered", "C1 offers no obs-hr");

    let out = ok_at(&mut e, &dr("H2"), at, send_counter(id));
    assert_eq!(
        names(&out),
        ["appointment_fulfilled", "counter_referral_sent"]
    );
    assert_eq!(status(&e, id), ReferralStatus::CounterReferred);
    assert_eq!(
        appointment(&e, "MX-P1", appt).status,
        AppointmentStatus::Fulfilled
    );
    assert_eq!(
        referral(&e, id).counter_referral,
        Some(counter_referral(Some("prenatal")))
    );

    // The origin books the follow-up the counter-referral asks for.
    let follow = |start| Command::BookAppointment {
        agenda: "C1-pre".into(),
        start,
        beneficiary: "MX-P1".into(),
        follow_up_of: Some(id),
        overbook: false,
    };
    let at = tue8() + Duration::hours(1);
    let out = ok_at(&mut e, &clerk("C1"), at, follow(mx("2026-03-05", 9, 0)));
    assert_eq!(names(&out), ["appointment_booked", "follow_up_booked"]);
    let fu = booked_id(&out);
    let Event::AppointmentBooked { follow_up_of, .. } = &out.events[0] else {
        unreachable!()
    };
    assert_eq!(*follow_up_of, Some(id));
    assert_eq!(referral(&e, id).follow_up_appointment, Some(fu));
    // Only once.
    let err = refuse_at(&mut e, &clerk("C1"), at, follow(mx("2026-03-06", 9, 0)));
    assert_eq!(err.details()["field"], "follow_up_of");

    // The destination cannot close the loop; the origin acknowledges.
    let err = refuse_at(&mut e, &dr("H2"), at, acknowledge(id));
    assert_eq!(err.code(), "not_permitted");
    let out = ok_at(&mut e, &coord("C1"), at, acknowledge(id));
    assert_eq!(names(&out), ["counter_referral_acknowledged"]);
    assert_eq!(status(&e, id), ReferralStatus::Completed);
    assert!(referral(&e, id).counter_referral.is_some());

    let replay = Engine::from_entries(e.journal().to_vec()).unwrap();
    assert_eq!(replay.state().fingerprint(), e.state().fingerprint());
}

#[test]
fn a_follow_up_request_that_was_not_made_cannot_be_booked() {
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::InProgress);
    ok_at(
        &mut e,
        &dr("H2"),
        tue8(),
        Command::SendCounterReferral {
            referral: id,
            counter_referral: counter_referral(None),
        },
    );
    let err = refuse_at(
        &mut e,
        &clerk("C1"),
        tue8(),
        Command::BookAppointment {
            agenda: "C1-pre".into(),
            start: mx("2026-03-05", 9, 0),
            beneficiary: "MX-P1".into(),
            follow_up_of: Some(id),
            overbook: false,
        },
    );
    assert_eq!(err.details()["field"], "follow_up_of");
}

#[test]
fn accept_from_requested_records_the_receipt_first() {
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::Requested);
    let out = ok(&mut e, &coord("H2"), accept(id));
    assert_eq!(names(&out), ["referral_received", "referral_accepted"]);
    // Receiving twice is an illegal transition.
    let err = refuse(&mut e, &coord("H2"), receive(id));
    assert_eq!(err.code(), "illegal_transition");
}

// --- redirect and escalate ---------------------------------------------------------

#[test]
fn redirect_keeps_number_and_history_and_starts_over_at_requested() {
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::Accepted);
    let before_timeline = referral(&e, id).timeline.len();

    // Only the destination's coordinator redirects, with a reason.
    let err = refuse(&mut e, &dr("H2"), redirect(id, "H2B"));
    assert_eq!(err.code(), "not_permitted");
    let err = refuse(
        &mut e,
        &coord("H2"),
        Command::RedirectReferral {
            referral: id,
            to: "H2B".into(),
            reason: " ".into(),
        },
    );
    assert_eq!(err.details()["field"], "reason");
    // The new destination must offer the service, be someone else, and be
    // reachable under an agreement.
    assert_eq!(
        refuse(&mut e, &coord("H2"), redirect(id, "T2")).code(),
        "service_not_offered"
    );
    assert_eq!(
        refuse(&mut e, &coord("H2"), redirect(id, "H2")).code(),
        "invalid_input"
    );
    assert_eq!(
        refuse(&mut e, &coord("H2"), redirect(id, "C1")).code(),
        "invalid_input"
    );
    assert_eq!(
        refuse(&mut e, &coord("H2"), redirect(id, "X2")).code(),
        "no_agreement"
    );
    assert_eq!(
        refuse(&mut e, &coord("H2"), redirect(id, "NOPE")).code(),
        "unknown_facility"
    );

    let out = ok(&mut e, &coord("H2"), redirect(id, "H2B"));
    assert_eq!(names(&out), ["referral_redirected"]);
    assert_eq!(
        out.events[0],
        Event::ReferralRedirected {
            referral: id,
            from: "H2".into(),
            to: "H2B".into(),
            agreement: Some("A1".into()),
            reason: "No obstetric anaesthetist this week".into(),
        }
    );
    let r = referral(&e, id);
    assert_eq!(r.id, id);
    assert_eq!(e.state().referral_count(), 1);
    assert_eq!(r.status, ReferralStatus::Requested);
    assert_eq!(r.destination, "H2B");
    assert_eq!(r.destinations, ["H2", "H2B"]);
    assert_eq!(r.accepted_at, None);
    assert_eq!(r.timeline.len(), before_timeline + 1);
    assert_eq!(r.timeline[0].event, "referral_created");

    // The old destination still sees the history but may no longer act.
    assert!(
        e.query(&coord("H2"), &Query::Referral { referral: id }, now())
            .is_ok()
    );
    assert_eq!(
        refuse(&mut e, &coord("H2"), accept(id)).code(),
        "not_permitted"
    );
    // It leaves the old worklist and joins the new one.
    assert_eq!(worklist(&e, "H2", 100, 0, now()).total, 0);
    assert_eq!(worklist(&e, "H2B", 100, 0, now()).items[0].referral, id);

    ok(&mut e, &coord("H2B"), accept(id));
    ok(
        &mut e,
        &coord("H2B"),
        schedule(id, "H2B-obs", mx("2026-03-03", 7, 30)),
    );
    assert_eq!(status(&e, id), ReferralStatus::Scheduled);
}

#[test]
fn redirect_re_checks_the_agreement_for_the_new_destination() {
    let mut e = network();
    // MX-P2's programme is not in the agreement: inside Bienestar she may be
    // referred, to IMSS she may not.
    let id = referral_id(&ok(
        &mut e,
        &dr("C1"),
        create_to("MX-P2", "HB2", Priority::Routine),
    ));
    assert_eq!(referral(&e, id).agreement, None);
    let err = refuse(&mut e, &coord("HB2"), redirect(id, "H2"));
    assert_eq!(err.code(), "not_covered");
    // MX-P1 redirected from IMSS back into Bienestar needs no agreement.
    let (id, _) = drive(&mut e, ReferralStatus::Received);
    ok(&mut e, &coord("H2"), redirect(id, "HB2"));
    assert_eq!(referral(&e, id).agreement, None);
}

#[test]
fn escalate_goes_to_a_higher_tier_only() {
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::Received);
    let err = refuse(&mut e, &coord("H2"), escalate(id, Some("H2B")));
    assert_eq!(err.details()["field"], "to");
    let err = refuse(&mut e, &coord("H2"), escalate(id, Some("C2")));
    assert_eq!(err.details()["field"], "to");
    // Clerks do not escalate; clinicians and coordinators do.
    assert_eq!(
        refuse(&mut e, &clerk("H2"), escalate(id, Some("H3"))).code(),
        "not_permitted"
    );
    let out = ok(&mut e, &dr("H2"), escalate(id, Some("H3")));
    assert_eq!(names(&out), ["referral_escalated"]);
    let r = referral(&e, id);
    assert_eq!(r.status, ReferralStatus::Requested);
    assert_eq!(r.destinations, ["H2", "H3"]);
    assert_eq!(r.agreement.as_deref(), Some("A1"));
    // From the top tier there is nowhere higher.
    let err = refuse(&mut e, &coord("H3"), escalate(id, Some("H3B")));
    assert_eq!(err.details()["field"], "to");
    let err = refuse(&mut e, &coord("H3"), escalate(id, None));
    assert_eq!(err.code(), "no_destination");
}

#[test]
fn escalate_without_a_target_picks_the_best_higher_tier_facility() {
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::Accepted);
    // H3B has a place at 07:00, H3 at 08:00: H3B is the best.
    let out = ok(&mut e, &coord("H2"), escalate(id, None));
    let Event::ReferralEscalated { from, to, .. } = &out.events[0] else {
        panic!("{:?}", out.events)
    };
    assert_eq!((from.as_str(), to.as_str()), ("H2", "H3B"));
    assert_eq!(referral(&e, id).destination, "H3B");

    // Once H3B's morning places are gone, H3 is the best.
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::Accepted);
    let (other, _) = drive(&mut e, ReferralStatus::Accepted);
    ok(&mut e, &coord("H2"), escalate(other, Some("H3B")));
    ok(&mut e, &coord("H3B"), accept(other));
    ok(
        &mut e,
        &coord("H3B"),
        schedule(other, "H3B-obs", mx("2026-03-02", 7, 0)),
    );
    let (third, _) = drive(&mut e, ReferralStatus::Accepted);
    ok(&mut e, &coord("H2"), escalate(third, Some("H3B")));
    ok(&mut e, &coord("H3B"), accept(third));
    ok(
        &mut e,
        &coord("H3B"),
        schedule(third, "H3B-obs", mx("2026-03-02", 7, 30)),
    );
    let out = ok(&mut e, &coord("H2"), escalate(id, None));
    let Event::ReferralEscalated { to, .. } = &out.events[0] else {
        panic!()
    };
    assert_eq!(to, "H3");
}

#[test]
fn escalate_without_a_target_needs_a_facility_that_can_take_the_patient() {
    let mut e = network();
    // MX-P2 at the Bienestar hospital: the only third-tier hospitals are
    // IMSS, and her programme is not covered there.
    let id = referral_id(&ok(
        &mut e,
        &dr("C1"),
        create_to("MX-P2", "HB2", Priority::Urgent),
    ));
    let err = refuse(&mut e, &coord("HB2"), escalate(id, None));
    assert_eq!(err.code(), "no_destination");
    assert_eq!(err.details()["tier"], "3");
    let err = refuse(&mut e, &coord("HB2"), escalate(id, Some("H3")));
    assert_eq!(err.code(), "not_covered");
}

// --- reject --------------------------------------------------------------------

#[test]
fn reject_takes_a_coded_reason_and_text_for_other() {
    for reason in [
        RejectReason::IncompleteInformation,
        RejectReason::CriteriaNotMet,
        RejectReason::ServiceNotAvailable,
        RejectReason::ManageAtOrigin,
        RejectReason::NotEligible,
    ] {
        let mut e = network();
        let (id, _) = drive(&mut e, ReferralStatus::Received);
        let out = ok(&mut e, &dr("H2"), reject(id, reason, ""));
        assert_eq!(
            out.events,
            [Event::ReferralRejected {
                referral: id,
                reason,
                text: String::new()
            }]
        );
        assert_eq!(status(&e, id), ReferralStatus::Rejected);
    }
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::Requested);
    let err = refuse(&mut e, &coord("H2"), reject(id, RejectReason::Other, "  "));
    assert_eq!(err.code(), "invalid_input");
    assert_eq!(err.details()["field"], "text");
    assert_eq!(
        refuse(&mut e, &clerk("H2"), reject(id, RejectReason::Other, "x")).code(),
        "not_permitted"
    );
    ok(
        &mut e,
        &coord("H2"),
        reject(id, RejectReason::Other, "Bed shortage until April"),
    );
    let r = referral(&e, id);
    assert_eq!(r.status, ReferralStatus::Rejected);
    assert_eq!(
        r.closing_reason.as_deref(),
        Some("Bed shortage until April")
    );
    // Rejected is terminal: even the origin cannot cancel it any more.
    assert_eq!(
        refuse(&mut e, &dr("C1"), cancel(id)).code(),
        "illegal_transition"
    );
}

// --- schedule, reschedule, no-show ------------------------------------------------

#[test]
fn scheduling_uses_the_places_kept_for_referrals() {
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::Accepted);
    // H2-obs has four places on Tuesday; two are kept for referred patients.
    ok(&mut e, &clerk("H2"), book("H2-obs", tue8(), "MX-I1"));
    ok(
        &mut e,
        &clerk("H2"),
        book("H2-obs", tue8() + Duration::minutes(30), "MX-I1"),
    );
    let err = refuse(
        &mut e,
        &clerk("H2"),
        book("H2-obs", tue8() + Duration::minutes(60), "MX-I1"),
    );
    assert_eq!(err.code(), "reserved_for_referrals");
    assert_eq!(err.details()["date"], "2026-03-03");

    // A referral still gets one of them.
    let out = ok(
        &mut e,
        &coord("H2"),
        schedule(id, "H2-obs", tue8() + Duration::minutes(60)),
    );
    let appt = booked_id(&out);
    assert_eq!(
        out.events[0],
        Event::AppointmentBooked {
            appointment: appt,
            agenda: "H2-obs".into(),
            facility: "H2".into(),
            beneficiary: "MX-P1".into(),
            start: tue8() + Duration::minutes(60),
            end: tue8() + Duration::minutes(90),
            referral: Some(id),
            follow_up_of: None,
            rescheduled_from: None,
            overbooked: false,
        }
    );
    assert_eq!(
        out.events[1],
        Event::ReferralScheduled {
            referral: id,
            appointment: appt,
            start: tue8() + Duration::minutes(60),
        }
    );
    let r = referral(&e, id);
    assert_eq!(r.status, ReferralStatus::Scheduled);
    assert_eq!(r.appointment, Some(appt));
    assert_eq!(
        r.first_appointment_start,
        Some(tue8() + Duration::minutes(60))
    );

    // Scheduling follows the agenda's rules.
    let other = referral_id(&ok(
        &mut e,
        &dr("C1"),
        create_to("MX-P3", "H2", Priority::Urgent),
    ));
    ok(&mut e, &coord("H2"), accept(other));
    let err = refuse(
        &mut e,
        &coord("H2"),
        schedule(other, "H2-obs", tue8() + Duration::minutes(60)),
    );
    assert_eq!(err.code(), "slot_full");
    let err = refuse(
        &mut e,
        &coord("H2"),
        schedule(other, "H2-obs", tue8() + Duration::minutes(70)),
    );
    assert_eq!(err.code(), "outside_availability");
    let err = refuse(
        &mut e,
        &coord("H2"),
        schedule(other, "H2B-obs", mx("2026-03-03", 7, 30)),
    );
    assert_eq!(err.details()["field"], "agenda");
    let err = refuse(
        &mut e,
        &coord("H2"),
        schedule(other, "NOPE", tue8() + Duration::minutes(90)),
    );
    assert_eq!(err.code(), "unknown_agenda");
    // Coordinators and clerks of the destination schedule; clinicians do not.
    let err = refuse(
        &mut e,
        &dr("H2"),
        schedule(other, "H2-obs", tue8() + Duration::minutes(90)),
    );
    assert_eq!(err.code(), "not_permitted");
    ok(
        &mut e,
        &clerk("H2"),
        schedule(other, "H2-obs", tue8() + Duration::minutes(90)),
    );
    assert_eq!(status(&e, other), ReferralStatus::Scheduled);
}

#[test]
fn rescheduling_a_referral_appointment_keeps_the_referral_scheduled() {
    let mut e = network();
    let (id, Some(first)) = drive(&mut e, ReferralStatus::Scheduled) else {
        unreachable!()
    };
    // Wednesday's ordinary places are all taken: the referral keeps its share.
    let wed8 = mx("2026-03-04", 8, 0);
    ok(&mut e, &clerk("H2"), book("H2-obs", wed8, "MX-I1"));
    ok(
        &mut e,
        &clerk("H2"),
        book("H2-obs", wed8 + Duration::minutes(30), "MX-I1"),
    );
    let new_start = wed8 + Duration::minutes(60);
    let out = ok(
        &mut e,
        &clerk("H2"),
        Command::RescheduleAppointment {
            appointment: first,
            agenda: None,
            start: new_start,
            reason: "Ultrasound moved".into(),
        },
    );
    assert_eq!(
        names(&out),
        [
            "appointment_booked",
            "appointment_rescheduled",
            "referral_scheduled"
        ]
    );
    let second = booked_id(&out);
    let r = referral(&e, id);
    assert_eq!(r.status, ReferralStatus::Scheduled);
    assert_eq!(r.appointment, Some(second));
    // The first appointment date stays the one that counts for the target.
    assert_eq!(r.first_appointment_start, Some(tue8()));
    assert_eq!(
        appointment(&e, "MX-P1", first).status,
        AppointmentStatus::Rescheduled
    );
    let moved = appointment(&e, "MX-P1", second);
    assert_eq!(moved.referral, Some(id));
    assert_eq!(moved.rescheduled_from, Some(first));
    assert_eq!(moved.start, new_start);
    // The old appointment can no longer be attended; the new one can.
    let err = refuse_at(
        &mut e,
        &clerk("H2"),
        tue8(),
        Command::MarkArrived { appointment: first },
    );
    assert_eq!(err.code(), "appointment_not_active");
    ok_at(
        &mut e,
        &clerk("H2"),
        new_start,
        Command::MarkArrived {
            appointment: second,
        },
    );
    assert_eq!(status(&e, id), ReferralStatus::InProgress);
}

#[test]
fn a_no_show_returns_the_referral_to_accepted_for_rebooking_or_closing() {
    let mut e = network();
    let (id, Some(first)) = drive(&mut e, ReferralStatus::Scheduled) else {
        unreachable!()
    };
    let err = refuse_at(
        &mut e,
        &clerk("H2"),
        tue8() - Duration::minutes(1),
        Command::MarkNoShow { appointment: first },
    );
    assert_eq!(err.code(), "too_early");
    let out = ok_at(
        &mut e,
        &clerk("H2"),
        tue8() + Duration::minutes(30),
        Command::MarkNoShow { appointment: first },
    );
    assert_eq!(names(&out), ["appointment_no_show", "referral_no_show"]);
    let r = referral(&e, id);
    assert_eq!(r.status, ReferralStatus::Accepted);
    assert_eq!(r.appointment, None);
    assert_eq!(
        appointment(&e, "MX-P1", first).status,
        AppointmentStatus::NoShow
    );

    // Rebooked, and missed again.
    let wed8 = mx("2026-03-04", 8, 0);
    let at = tue8() + Duration::hours(1);
    let second = booked_id(&ok_at(
        &mut e,
        &coord("H2"),
        at,
        schedule(id, "H2-obs", wed8),
    ));
    assert_eq!(status(&e, id), ReferralStatus::Scheduled);
    assert_eq!(referral(&e, id).appointment, Some(second));
    // Closing needs the accepted state, the coordinator, and a reason.
    assert_eq!(
        refuse_at(&mut e, &coord("H2"), at, close(id)).code(),
        "illegal_transition"
    );
    let at = wed8 + Duration::minutes(45);
    ok_at(
        &mut e,
        &clerk("H2"),
        at,
        Command::MarkNoShow {
            appointment: second,
        },
    );
    assert_eq!(status(&e, id), ReferralStatus::Accepted);
    assert_eq!(
        refuse_at(&mut e, &dr("H2"), at, close(id)).code(),
        "not_permitted"
    );
    let err = refuse_at(
        &mut e,
        &coord("H2"),
        at,
        Command::CloseReferral {
            referral: id,
            reason: String::new(),
        },
    );
    assert_eq!(err.details()["field"], "reason");
    let out = ok_at(&mut e, &coord("H2"), at, close(id));
    assert_eq!(names(&out), ["referral_closed"]);
    let r = referral(&e, id);
    assert_eq!(r.status, ReferralStatus::Closed);
    assert_eq!(
        r.closing_reason.as_deref(),
        Some("Patient cannot be reached")
    );
    assert!(r.counter_referral.is_none());
}

#[test]
fn a_clerk_cancelling_the_appointment_returns_the_referral_to_accepted() {
    let mut e = network();
    let (id, Some(appt)) = drive(&mut e, ReferralStatus::Scheduled) else {
        unreachable!()
    };
    let out = ok(
        &mut e,
        &clerk("H2"),
        Command::CancelAppointment {
            appointment: appt,
            reason: "Patient asked".into(),
        },
    );
    assert_eq!(out.events[0].name(), "appointment_cancelled");
    let r = referral(&e, id);
    assert_eq!(r.status, ReferralStatus::Accepted);
    assert_eq!(r.appointment, None);
    // The timeline says so, and who did it.
    let last = r.timeline.last().unwrap();
    assert_eq!(last.status, ReferralStatus::Accepted, "{:?}", r.timeline);
    assert_eq!(last.user, "clerk.H2");
    // The referral's audit trail holds the entry that changed it.
    let trail = audit_of_referral(&e, id);
    assert!(
        trail.contains(&out.seq),
        "the cancellation (entry {}) is missing from the referral's audit trail {trail:?}",
        out.seq
    );
    // And it can be scheduled again.
    ok(&mut e, &coord("H2"), schedule(id, "H2-obs", tue8()));
    assert_eq!(status(&e, id), ReferralStatus::Scheduled);
}

fn audit_of_referral(e: &Engine, id: u32) -> Vec<u64> {
    match ask(
        e,
        &auditor(),
        now(),
        Query::AuditTrail {
            facility: None,
            referral: Some(id),
            after: 0,
            limit: 1000,
        },
    ) {
        Answer::Entries(list) => list.iter().map(|x| x.seq).collect(),
        other => panic!("{other:?}"),
    }
}

// --- cancel ----------------------------------------------------------------------

#[test]
fn the_origin_cancels_at_every_non_terminal_step() {
    use ReferralStatus::*;
    let later = mx("2026-03-03", 7, 0);
    for from in [
        Requested,
        Received,
        Accepted,
        Scheduled,
        InProgress,
        CounterReferred,
    ] {
        let mut e = network();
        let (id, appt) = drive(&mut e, from);
        // Not the destination, not a clerk, not without a reason.
        assert_eq!(
            refuse_at(&mut e, &coord("H2"), later, cancel(id)).code(),
            "not_permitted"
        );
        assert_eq!(
            refuse_at(&mut e, &clerk("C1"), later, cancel(id)).code(),
            "not_permitted"
        );
        let err = refuse_at(
            &mut e,
            &dr("C1"),
            later,
            Command::CancelReferral {
                referral: id,
                reason: String::new(),
            },
        );
        assert_eq!(err.details()["field"], "reason");

        let out = ok_at(&mut e, &dr("C1"), later, cancel(id));
        let r = referral(&e, id);
        assert_eq!(r.status, Cancelled, "from {}", from.as_str());
        assert_eq!(r.closing_reason.as_deref(), Some("Delivered at the clinic"));
        if from == Scheduled {
            // The booked appointment is cancelled with it, and its place freed.
            let appt = appt.unwrap();
            assert_eq!(names(&out), ["appointment_cancelled", "referral_cancelled"]);
            assert_eq!(
                appointment(&e, "MX-P1", appt).status,
                AppointmentStatus::Cancelled
            );
            let (other, _) = drive(&mut e, Accepted);
            ok_at(
                &mut e,
                &coord("H2"),
                later,
                schedule(other, "H2-obs", tue8()),
            );
        } else {
            assert_eq!(
                names(&out),
                ["referral_cancelled"],
                "from {}",
                from.as_str()
            );
            if let Some(appt) = appt {
                assert_ne!(
                    appointment(&e, "MX-P1", appt).status,
                    AppointmentStatus::Cancelled
                );
            }
        }
        // Terminal now.
        assert_eq!(
            refuse_at(&mut e, &dr("C1"), later, cancel(id)).code(),
            "illegal_transition"
        );
    }
    // The origin's coordinator may cancel too.
    let mut e = network();
    let (id, _) = drive(&mut e, Requested);
    ok(&mut e, &coord("C1"), cancel(id));
}

// --- agreements and coverage ---------------------------------------------------------

fn with_agreement(change: impl FnOnce(&mut Agreement)) -> Engine {
    let mut e = network();
    let mut a = agreement();
    change(&mut a);
    ok(&mut e, &admin(), Command::DefineAgreement { agreement: a });
    e
}

#[test]
fn a_cross_agency_referral_needs_a_valid_agreement() {
    let mut e = network();
    let err = refuse(
        &mut e,
        &dr("C1"),
        create_to("MX-P1", "X2", Priority::Urgent),
    );
    assert_eq!(err.code(), "no_agreement");
    let d = err.details();
    assert_eq!(d["from_agency"], "bienestar");
    assert_eq!(d["to_agency"], "issste");
    assert_eq!(d["service"], "obs-hr");

    type Change = fn(&mut Agreement);
    let cases: [(&str, Change); 4] = [
        ("expired", |a| a.valid_to = Some(date("2026-02-28"))),
        ("not yet valid", |a| a.valid_from = date("2026-03-03")),
        ("another service", |a| a.services = vec!["cardio".into()]),
        ("another tier", |a| a.tiers = vec![Tier::Third]),
    ];
    for (what, change) in cases {
        let mut e = with_agreement(change);
        let err = refuse(
            &mut e,
            &dr("C1"),
            create_to("MX-P1", "H2", Priority::Urgent),
        );
        assert_eq!(err.code(), "no_agreement", "agreement {what}");
    }
    // The tier-3-only agreement still reaches H3.
    let mut e = with_agreement(|a| a.tiers = vec![Tier::Third]);
    let out = ok(
        &mut e,
        &dr("C1"),
        create_to("MX-P1", "H3", Priority::Urgent),
    );
    let Event::ReferralCreated { agreement, .. } = &out.events[0] else {
        panic!()
    };
    assert_eq!(agreement.as_deref(), Some("A1"));
    // On its last day the agreement is still valid.
    let mut e = with_agreement(|a| a.valid_to = Some(date("2026-03-02")));
    ok(
        &mut e,
        &dr("C1"),
        create_to("MX-P1", "H2", Priority::Urgent),
    );
}

#[test]
fn the_beneficiary_needs_a_programme_the_agreement_names() {
    let mut e = network();
    for b in ["MX-P2", "MX-N", "MX-I1"] {
        let err = refuse(&mut e, &dr("C1"), create_to(b, "H2", Priority::Urgent));
        assert_eq!(err.code(), "not_covered", "{b}");
        assert_eq!(err.details()["beneficiary"], b);
    }
    // Coverage that ended yesterday does not count.
    let mut e = network();
    ok(
        &mut e,
        &admin(),
        Command::SetCoverage {
            beneficiary: "MX-P1".into(),
            coverage: vec![cover(
                "imss-bienestar",
                "bienestar",
                "2025-01-01",
                Some("2026-03-01"),
            )],
        },
    );
    let err = refuse(
        &mut e,
        &dr("C1"),
        create_to("MX-P1", "H2", Priority::Urgent),
    );
    assert_eq!(err.code(), "not_covered");
}

#[test]
fn inside_one_agency_no_agreement_is_needed() {
    // Even with the only agreement expired.
    let mut e = with_agreement(|a| a.valid_to = Some(date("2026-01-31")));
    for b in ["MX-P1", "MX-P2"] {
        let out = ok(&mut e, &dr("C1"), create_to(b, "HB2", Priority::Urgent));
        let Event::ReferralCreated { agreement, .. } = &out.events[0] else {
            panic!()
        };
        assert_eq!(*agreement, None);
    }
    // But the beneficiary must be covered by that agency.
    let err = refuse(
        &mut e,
        &dr("C1"),
        create_to("MX-I1", "HB2", Priority::Urgent),
    );
    assert_eq!(err.code(), "not_covered");
}

#[test]
fn coverage_and_agreement_are_checked_again_for_the_day_of_care() {
    let mut e = network();
    // MX-P3 is covered until Tuesday 10 March inclusive.
    let id = referral_id(&ok(
        &mut e,
        &dr("C1"),
        create_to("MX-P3", "H2", Priority::Routine),
    ));
    ok(&mut e, &coord("H2"), accept(id));
    let err = refuse(
        &mut e,
        &coord("H2"),
        schedule(id, "H2-obs", mx("2026-03-11", 8, 0)),
    );
    assert_eq!(err.code(), "not_covered");
    assert_eq!(err.details()["date"], "2026-03-11");
    let appt = booked_id(&ok(
        &mut e,
        &coord("H2"),
        schedule(id, "H2-obs", mx("2026-03-10", 8, 0)),
    ));
    // Moving the appointment past the end of coverage is refused as well.
    let err = refuse(
        &mut e,
        &clerk("H2"),
        Command::RescheduleAppointment {
            appointment: appt,
            agenda: None,
            start: mx("2026-03-11", 8, 0),
            reason: String::new(),
        },
    );
    assert_eq!(err.code(), "not_covered");
    ok(
        &mut e,
        &clerk("H2"),
        Command::RescheduleAppointment {
            appointment: appt,
            agenda: None,
            start: mx("2026-03-09", 8, 0),
            reason: String::new(),
        },
    );

    // The agreement ends on Friday 6 March: care after it is not covered by it.
    let mut e = with_agreement(|a| a.valid_to = Some(date("2026-03-06")));
    let (id, _) = drive(&mut e, ReferralStatus::Accepted);
    let err = refuse(
        &mut e,
        &coord("H2"),
        schedule(id, "H2-obs", mx("2026-03-09", 8, 0)),
    );
    assert_eq!(err.code(), "no_agreement");
    ok(
        &mut e,
        &coord("H2"),
        schedule(id, "H2-obs", mx("2026-03-06", 8, 0)),
    );
}

// --- routing -------------------------------------------------------------------------

fn routing(e: &Engine, beneficiary: &str, tier: Tier, priority: Priority) -> Routing {
    match ask(
        e,
        &dr("C1"),
        now(),
        Query::SuggestDestinations {
            beneficiary: beneficiary.into(),
            service: "obs-hr".into(),
            tier,
            priority,
        },
    ) {
        Answer::Routing(r) => r,
        other => panic!("{other:?}"),
    }
}

fn suggested(r: &Routing) -> Vec<(&str, DateTime<Utc>)> {
    r.suggested
        .iter()
        .map(|s| (s.facility.as_str(), s.earliest))
        .collect()
}

fn excluded(r: &Routing) -> Vec<(&str, Exclusion)> {
    let mut v: Vec<_> = r
        .not_suggested
        .iter()
        .map(|n| (n.facility.as_str(), n.reason))
        .collect();
    v.sort_by_key(|x| x.0);
    v
}

#[test]
fn suggestions_are_ordered_by_earliest_place_and_exclusions_explained() {
    let mut e = network();
    let r = routing(&e, "MX-P1", Tier::Second, Priority::Urgent);
    assert_eq!(
        suggested(&r),
        [
            ("H2B", mx("2026-03-02", 7, 30)),
            ("H2", mx("2026-03-02", 8, 0)),
            ("HB2", mx("2026-03-02", 13, 0)),
        ]
    );
    let by: Vec<_> = r
        .suggested
        .iter()
        .map(|s| (s.agenda.as_str(), s.agreement.as_deref(), s.tier))
        .collect();
    assert_eq!(
        by,
        [
            ("H2B-obs", Some("A1"), Tier::Second),
            ("H2-obs", Some("A1"), Tier::Second),
            ("HB2-obs", None, Tier::Second),
        ]
    );
    assert_eq!(
        excluded(&r),
        [("T2", Exclusion::NoService), ("X2", Exclusion::NoAgreement)]
    );

    // An emergency must be seen within six hours: the afternoon agenda is too late.
    let r = routing(&e, "MX-P1", Tier::Second, Priority::Emergency);
    assert_eq!(
        suggested(&r),
        [
            ("H2B", mx("2026-03-02", 7, 30)),
            ("H2", mx("2026-03-02", 8, 0))
        ]
    );
    assert_eq!(
        excluded(&r),
        [
            ("HB2", Exclusion::NoCapacityInTime),
            ("T2", Exclusion::NoService),
            ("X2", Exclusion::NoAgreement)
        ]
    );

    // A beneficiary outside the agreement's programmes.
    let r = routing(&e, "MX-P2", Tier::Second, Priority::Urgent);
    assert_eq!(suggested(&r), [("HB2", mx("2026-03-02", 13, 0))]);
    assert_eq!(
        excluded(&r),
        [
            ("H2", Exclusion::NotCovered),
            ("H2B", Exclusion::NotCovered),
            ("T2", Exclusion::NoService),
            ("X2", Exclusion::NoAgreement)
        ]
    );

    // Creating by tier takes the first suggestion; once H2B's only place of
    // Monday is taken, H2 comes first.
    let out = ok(
        &mut e,
        &dr("C1"),
        create("MX-P1", Destination::Tier(Tier::Second), Priority::Urgent),
    );
    let id = referral_id(&out);
    assert_eq!(referral(&e, id).destination, "H2B");
    ok(&mut e, &coord("H2B"), accept(id));
    ok(
        &mut e,
        &coord("H2B"),
        schedule(id, "H2B-obs", mx("2026-03-02", 7, 30)),
    );
    let r = routing(&e, "MX-P1", Tier::Second, Priority::Urgent);
    assert_eq!(
        suggested(&r),
        [
            ("H2", mx("2026-03-02", 8, 0)),
            ("HB2", mx("2026-03-02", 13, 0)),
            ("H2B", mx("2026-03-03", 7, 30)),
        ]
    );
    let out = ok(
        &mut e,
        &dr("C1"),
        create("MX-P3", Destination::Tier(Tier::Second), Priority::Urgent),
    );
    assert_eq!(referral(&e, referral_id(&out)).destination, "H2");
}

#[test]
fn routing_refusals() {
    let mut e = network();
    // Nowhere to go at tier 3 for MX-P2.
    let err = refuse(
        &mut e,
        &dr("C1"),
        create("MX-P2", Destination::Tier(Tier::Third), Priority::Urgent),
    );
    assert_eq!(err.code(), "no_destination");
    assert_eq!(err.details()["tier"], "3");
    // Only clinicians and coordinators of a facility ask for destinations.
    for actor in [clerk("C1"), auditor(), admin()] {
        let err = e
            .query(
                &actor,
                &Query::SuggestDestinations {
                    beneficiary: "MX-P1".into(),
                    service: "obs-hr".into(),
                    tier: Tier::Second,
                    priority: Priority::Urgent,
                },
                now(),
            )
            .unwrap_err();
        assert_eq!(err.code(), "not_permitted", "{}", actor.user);
    }
    let err = e
        .query(
            &dr("C1"),
            &Query::SuggestDestinations {
                beneficiary: "MX-NOBODY".into(),
                service: "obs-hr".into(),
                tier: Tier::Second,
                priority: Priority::Urgent,
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "unknown_beneficiary");
    // The origin itself is never a destination.
    let r = routing(&e, "MX-P1", Tier::First, Priority::Routine);
    assert!(r.suggested.iter().all(|s| s.facility != "C1"));
    assert!(r.not_suggested.iter().all(|s| s.facility != "C1"));
}

// --- target times ----------------------------------------------------------------------

fn dues(out: &Outcome) -> (DateTime<Utc>, DateTime<Utc>) {
    match &out.events[0] {
        Event::ReferralCreated {
            accept_due,
            appointment_due,
            ..
        } => (*accept_due, *appointment_due),
        other => panic!("{other:?}"),
    }
}

#[test]
fn target_times_have_defaults_and_network_overrides() {
    let mut e = network();
    let h = Duration::hours;
    let d = Duration::days;
    for (p, accept, appointment) in [
        (Priority::Emergency, h(1), h(6)),
        (Priority::Urgent, h(24), d(3)),
        (Priority::Priority, d(7), d(14)),
        (Priority::Routine, d(30), d(60)),
    ] {
        let out = ok(&mut e, &dr("C1"), create_to("MX-P1", "H2", p));
        assert_eq!(
            dues(&out),
            (now() + accept, now() + appointment),
            "default targets for {}",
            p.as_str()
        );
    }

    // The network shortens the urgent targets only.
    ok(
        &mut e,
        &admin(),
        Command::ConfigureNetwork {
            name: "Red Oaxaca".into(),
            targets: vec![TargetTimes {
                priority: Priority::Urgent,
                accept_minutes: 120,
                appointment_minutes: 600,
            }],
        },
    );
    let out = ok(
        &mut e,
        &dr("C1"),
        create_to("MX-P1", "H2", Priority::Urgent),
    );
    assert_eq!(
        dues(&out),
        (
            now() + Duration::minutes(120),
            now() + Duration::minutes(600)
        )
    );
    // Priorities the network does not configure keep their defaults.
    let out = ok(
        &mut e,
        &dr("C1"),
        create_to("MX-P1", "H2", Priority::Emergency),
    );
    assert_eq!(dues(&out), (now() + h(1), now() + h(6)));

    // Target times are validated.
    let t = |p, a, b| TargetTimes {
        priority: p,
        accept_minutes: a,
        appointment_minutes: b,
    };
    for (targets, field, rule) in [
        (
            vec![t(Priority::Urgent, 60, 60), t(Priority::Urgent, 30, 30)],
            "targets[1].priority",
            "repeated",
        ),
        (
            vec![t(Priority::Routine, 0, 60)],
            "targets[0].accept_minutes",
            "out_of_range",
        ),
        (
            vec![t(Priority::Routine, 60, 0)],
            "targets[0].appointment_minutes",
            "out_of_range",
        ),
    ] {
        let err = refuse(
            &mut e,
            &admin(),
            Command::ConfigureNetwork {
                name: "Red Oaxaca".into(),
                targets,
            },
        );
        assert_eq!(err.details()["field"], field);
        assert_eq!(err.details()["rule"], rule);
    }
    let err = refuse(
        &mut e,
        &coord("H2"),
        Command::ConfigureNetwork {
            name: "Red".into(),
            targets: vec![],
        },
    );
    assert_eq!(err.code(), "not_permitted");
}

// --- worklist and breaches ------------------------------------------------------------

fn worklist(e: &Engine, facility: &str, limit: u32, offset: u32, at: DateTime<Utc>) -> Worklist {
    match ask(
        e,
        &auditor(),
        at,
        Query::Worklist {
            facility: facility.into(),
            limit,
            offset,
        },
    ) {
        Answer::Worklist(w) => w,
        other => panic!("{other:?}"),
    }
}

fn ids(items: &[WorkItem]) -> Vec<u32> {
    items.iter().map(|i| i.referral).collect()
}

#[test]
fn the_worklist_is_sorted_by_deadline_and_pages() {
    let mut e = network();
    let c =
        |e: &mut Engine, b: &str, f: &str, p| referral_id(&ok(e, &dr("C1"), create_to(b, f, p)));
    let routine = c(&mut e, "MX-P1", "H2", Priority::Routine);
    let emergency = c(&mut e, "MX-P1", "H2", Priority::Emergency);
    let urgent = c(&mut e, "MX-P3", "H2", Priority::Urgent);
    let priority = c(&mut e, "MX-P1", "H2", Priority::Priority);
    let rejected = c(&mut e, "MX-P1", "H2", Priority::Urgent);
    ok(
        &mut e,
        &coord("H2"),
        reject(rejected, RejectReason::ManageAtOrigin, ""),
    );
    let accepted = c(&mut e, "MX-P3", "H2", Priority::Urgent);
    ok(&mut e, &coord("H2"), accept(accepted));
    let elsewhere = c(&mut e, "MX-P1", "H2B", Priority::Emergency);

    let at = now() + Duration::hours(2);
    let w = worklist(&e, "H2", 100, 0, at);
    assert_eq!(w.total, 5);
    assert_eq!(w.overdue, 1);
    assert_eq!(
        ids(&w.items),
        [emergency, urgent, accepted, priority, routine]
    );
    let left: Vec<(i64, &str)> = w
        .items
        .iter()
        .map(|i| (i.minutes_left, i.due.as_str()))
        .collect();
    assert_eq!(
        left,
        [
            (60 - 120, "accept"),
            (24 * 60 - 120, "accept"),
            (3 * 24 * 60 - 120, "appointment"),
            (7 * 24 * 60 - 120, "accept"),
            (30 * 24 * 60 - 120, "accept"),
        ]
    );
    assert_eq!(w.items[0].deadline, now() + Duration::hours(1));
    assert_eq!(w.items[0].status, ReferralStatus::Requested);
    assert_eq!(w.items[2].status, ReferralStatus::Accepted);
    assert!(!ids(&w.items).contains(&rejected));
    assert!(!ids(&w.items).contains(&elsewhere));

    // Pages keep the order and the counts.
    for (offset, limit, want) in [
        (0, 2, vec![emergency, urgent]),
        (2, 2, vec![accepted, priority]),
        (4, 2, vec![routine]),
        (9, 2, vec![]),
    ] {
        let page = worklist(&e, "H2", limit, offset, at);
        assert_eq!(ids(&page.items), want, "offset {offset} limit {limit}");
        assert_eq!((page.total, page.overdue), (5, 1));
    }

    // A day later the urgent one is overdue too.
    let w = worklist(&e, "H2", 100, 0, now() + Duration::hours(25));
    assert_eq!(w.overdue, 2);
    assert_eq!(w.items[1].minutes_left, -60);

    // Only the facility's own staff (and auditors, admins) read it.
    let q = Query::Worklist {
        facility: "H2".into(),
        limit: 10,
        offset: 0,
    };
    assert!(e.query(&coord("H2"), &q, at).is_ok());
    assert!(e.query(&admin(), &q, at).is_ok());
    for actor in [dr("C1"), coord("H2B")] {
        assert_eq!(e.query(&actor, &q, at).unwrap_err().code(), "not_permitted");
    }
    let q = Query::Worklist {
        facility: "NOPE".into(),
        limit: 10,
        offset: 0,
    };
    assert_eq!(
        e.query(&auditor(), &q, at).unwrap_err().code(),
        "unknown_facility"
    );
}

fn breaches(
    e: &Engine,
    facility: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Vec<Breach> {
    match ask(
        e,
        &coord(facility),
        at,
        Query::BreachReport {
            facility: facility.into(),
            from,
            to,
        },
    ) {
        Answer::Breaches(b) => b,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_breach_report_lists_late_answers_late_appointments_and_silence() {
    let mut e = network();
    let urgent = |e: &mut Engine, f: &str| {
        referral_id(&ok(e, &dr("C1"), create_to("MX-P1", f, Priority::Urgent)))
    };
    let late_accept = urgent(&mut e, "H2");
    let late_visit = urgent(&mut e, "H2");
    let silent = urgent(&mut e, "H2");
    let withdrawn = urgent(&mut e, "H2");
    let other_place = urgent(&mut e, "H2B");
    let refused = referral_id(&ok(
        &mut e,
        &dr("C1"),
        create_to("MX-P1", "H2", Priority::Emergency),
    ));
    // Urgent: accept within 24 h, first appointment within 3 days (Thursday 06:00).
    ok_at(
        &mut e,
        &coord("H2"),
        now() + Duration::minutes(30),
        reject(refused, RejectReason::ManageAtOrigin, ""),
    );
    ok_at(
        &mut e,
        &coord("H2"),
        now() + Duration::hours(1),
        accept(late_visit),
    );
    // Before a deadline passes nothing is late.
    let early = e.clone();
    assert!(
        breaches(
            &early,
            "H2",
            now(),
            now() + Duration::days(10),
            now() + Duration::hours(2)
        )
        .is_empty()
    );
    ok_at(
        &mut e,
        &coord("H2"),
        now() + Duration::hours(30),
        accept(late_accept),
    );
    ok_at(
        &mut e,
        &dr("C1"),
        now() + Duration::hours(30),
        cancel(withdrawn),
    );
    let at = now() + Duration::hours(31);
    ok_at(
        &mut e,
        &coord("H2"),
        at,
        schedule(late_accept, "H2-obs", mx("2026-03-04", 8, 0)),
    );
    ok_at(
        &mut e,
        &coord("H2"),
        at,
        schedule(late_visit, "H2-obs", mx("2026-03-05", 8, 0)),
    );

    let report_at = now() + Duration::days(4);
    let all = breaches(&e, "H2", now(), now() + Duration::days(10), report_at);
    let rows: Vec<(u32, &str, Option<DateTime<Utc>>, i64)> = all
        .iter()
        .map(|b| (b.referral, b.target.as_str(), b.met_at, b.minutes_late))
        .collect();
    assert_eq!(
        rows,
        [
            (
                late_accept,
                "accept",
                Some(now() + Duration::hours(30)),
                6 * 60
            ),
            (silent, "accept", None, 3 * 24 * 60),
            (late_visit, "appointment", Some(mx("2026-03-05", 8, 0)), 120),
            (silent, "appointment", None, 24 * 60),
        ]
    );
    assert_eq!(all[0].due, now() + Duration::hours(24));
    assert_eq!(all[2].due, now() + Duration::days(3));
    assert!(all.iter().all(|b| b.priority == Priority::Urgent));
    assert!(
        all.iter()
            .all(|b| b.referral != other_place && b.referral != withdrawn)
    );

    // The period selects by due time.
    let later = breaches(
        &e,
        "H2",
        now() + Duration::days(2),
        now() + Duration::days(10),
        report_at,
    );
    assert_eq!(later.len(), 2);
    assert!(later.iter().all(|b| b.target == "appointment"));
    // H2B's report holds its own silent referral.
    let h2b = breaches(&e, "H2B", now(), now() + Duration::days(10), report_at);
    assert_eq!(h2b.len(), 2);
    assert!(h2b.iter().all(|b| b.referral == other_place));
    // Another facility's staff may not read H2's report.
    let q = Query::BreachReport {
        facility: "H2".into(),
        from: now(),
        to: now() + Duration::days(10),
    };
    assert_eq!(
        e.query(&dr("C1"), &q, report_at).unwrap_err().code(),
        "not_permitted"
    );
    assert!(e.query(&auditor(), &q, report_at).is_ok());
}

// --- timeline ------------------------------------------------------------------------------

#[test]
fn the_timeline_records_every_event_with_who_and_when() {
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::Completed);
    let r = referral(&e, id);
    let steps: Vec<(&str, &str, ReferralStatus)> = r
        .timeline
        .iter()
        .map(|s| (s.event.as_str(), s.user.as_str(), s.status))
        .collect();
    use ReferralStatus::*;
    assert_eq!(
        steps,
        [
            ("referral_created", "clinician.C1", Requested),
            ("referral_received", "coordinator.H2", Received),
            ("referral_accepted", "coordinator.H2", Accepted),
            ("appointment_booked", "coordinator.H2", Accepted),
            ("referral_scheduled", "coordinator.H2", Scheduled),
            ("referral_in_progress", "clerk.H2", InProgress),
            ("counter_referral_sent", "clinician.H2", CounterReferred),
            ("counter_referral_acknowledged", "clinician.C1", Completed),
        ]
    );
    let when: Vec<DateTime<Utc>> = r.timeline.iter().map(|s| s.at).collect();
    assert_eq!(
        when,
        [
            now(),
            now(),
            now(),
            now(),
            now(),
            tue8(),
            tue8() + Duration::minutes(40),
            tue8() + Duration::hours(2),
        ]
    );
    // Each step names the journal entry, the role and the facility.
    for s in &r.timeline {
        let entry = &e.journal()[s.seq as usize - 1];
        assert_eq!(entry.seq, s.seq);
        assert_eq!(entry.at, s.at);
        assert_eq!(entry.actor.user, s.user);
        assert_eq!(entry.actor.role, s.role);
        assert_eq!(entry.actor.facility, s.facility);
        assert!(entry.events.iter().any(|ev| ev.name() == s.event));
    }
    assert_eq!(r.timeline[2].note, "Seen by the obstetric team");
    // Every entry that names the referral appears in the timeline.
    let named: usize = e
        .journal()
        .iter()
        .flat_map(|x| &x.events)
        .filter(|ev| ev.referral() == Some(id))
        .count();
    assert_eq!(named, r.timeline.len());

    // Redirects and escalations show where the referral went.
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::Received);
    ok(&mut e, &coord("H2"), redirect(id, "H2B"));
    ok(&mut e, &coord("H2B"), escalate(id, Some("H3")));
    let r = referral(&e, id);
    let notes: Vec<&str> = r.timeline.iter().map(|s| s.note.as_str()).collect();
    assert_eq!(notes[2], "→ H2B: No obstetric anaesthetist this week");
    assert_eq!(notes[3], "→ H3: Needs neonatal intensive care");
    assert_eq!(r.timeline[3].facility.as_deref(), Some("H2B"));
}

// --- conditionality ----------------------------------------------------------------------------

#[test]
fn the_conditionality_report_tells_attended_missed_scheduled_and_not_scheduled() {
    let mut e = network();
    for b in [
        person(
            "MX-P4",
            vec![cover("imss-bienestar", "bienestar", "2025-01-01", None)],
        ),
        person(
            "MX-P5",
            vec![cover("imss-bienestar", "bienestar", "2025-01-01", None)],
        ),
        person(
            "MX-P6",
            vec![cover(
                "imss-bienestar",
                "bienestar",
                "2025-01-01",
                Some("2026-02-01"),
            )],
        ),
    ] {
        ok(
            &mut e,
            &admin(),
            Command::RegisterBeneficiary { beneficiary: b },
        );
    }
    let c = clerk("C1");
    let attended = booked_id(&ok(
        &mut e,
        &c,
        book("C1-pre", tue8() + Duration::hours(1), "MX-P1"),
    ));
    let missed = booked_id(&ok(&mut e, &c, book("C1-pre", tue8(), "MX-P3")));
    ok(&mut e, &c, book("C1-pre", mx("2026-03-16", 9, 0), "MX-P4"));
    // An April visit does not count for March.
    ok(&mut e, &c, book("C1-pre", mx("2026-04-06", 9, 0), "MX-P5"));
    // A cancelled visit is not a scheduled one.
    let gone = booked_id(&ok(
        &mut e,
        &c,
        book("C1-pre", mx("2026-03-17", 9, 0), "MX-P5"),
    ));
    ok(
        &mut e,
        &c,
        Command::CancelAppointment {
            appointment: gone,
            reason: "Moved away".into(),
        },
    );
    // Referral care is not a prenatal visit.
    drive(&mut e, ReferralStatus::InProgress);
    ok_at(
        &mut e,
        &c,
        tue8() + Duration::hours(1),
        Command::MarkArrived {
            appointment: attended,
        },
    );
    ok_at(
        &mut e,
        &c,
        tue8() + Duration::minutes(30),
        Command::MarkNoShow {
            appointment: missed,
        },
    );

    let q = Query::Conditionality {
        programme: "imss-bienestar".into(),
        service: "prenatal".into(),
        from: date("2026-03-01"),
        to: date("2026-03-31"),
    };
    let rows = match ask(&e, &auditor(), tue8(), q.clone()) {
        Answer::Conditionality(rows) => rows,
        other => panic!("{other:?}"),
    };
    let got: Vec<(&str, Attendance, u32, u32, u32)> = rows
        .iter()
        .map(|r| {
            (
                r.beneficiary.as_str(),
                r.status,
                r.attended,
                r.missed,
                r.scheduled,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("MX-P1", Attendance::Attended, 1, 0, 0),
            ("MX-P3", Attendance::Missed, 0, 1, 0),
            ("MX-P4", Attendance::Scheduled, 0, 0, 1),
            ("MX-P5", Attendance::NotScheduled, 0, 0, 0),
        ]
    );
    assert_eq!(rows[0].name, "Persona MX-P1");
    assert!(e.query(&admin(), &q, tue8()).is_ok());
    for actor in [clerk("C1"), dr("C1"), coord("H2")] {
        assert_eq!(
            e.query(&actor, &q, tue8()).unwrap_err().code(),
            "not_permitted"
        );
    }
    let backwards = Query::Conditionality {
        programme: "imss-bienestar".into(),
        service: "prenatal".into(),
        from: date("2026-03-31"),
        to: date("2026-03-01"),
    };
    assert_eq!(
        e.query(&auditor(), &backwards, tue8()).unwrap_err().code(),
        "invalid_input"
    );
}

// --- visibility ----------------------------------------------------------------------------------

/// Every referral command, on referral `id`.
fn every_referral_command(id: u32) -> Vec<Command> {
    vec![
        receive(id),
        accept(id),
        reject(id, RejectReason::Other, "no"),
        redirect(id, "H2B"),
        escalate(id, None),
        escalate(id, Some("H3")),
        schedule(id, "H2-obs", mx("2026-03-04", 8, 0)),
        send_counter(id),
        acknowledge(id),
        cancel(id),
        close(id),
    ]
}

#[test]
fn a_third_facility_learns_nothing_of_a_referral() {
    let strangers: Vec<Actor> = [Role::Clerk, Role::Clinician, Role::Coordinator]
        .into_iter()
        .flat_map(|role| ["C2", "H2B", "T2", "HB2", "X2", "H3"].map(|f| who(role, f)))
        .collect();
    for st in ALL_STATUSES {
        let mut e = network();
        let (id, _) = drive(&mut e, st);
        let at = mx("2026-03-03", 12, 0);
        for actor in &strangers {
            for (cmd, none) in every_referral_command(id)
                .into_iter()
                .zip(every_referral_command(999))
            {
                let name = cmd.name();
                let err = refuse_at(&mut e, actor, at, cmd);
                let unknown = refuse_at(&mut e, actor, at, none);
                assert_eq!(
                    err,
                    Error::UnknownReferral(id),
                    "{name} by {} on a {} referral",
                    actor.user,
                    st.as_str()
                );
                assert_eq!(err.code(), unknown.code());
            }
            assert_eq!(
                e.query(actor, &Query::Referral { referral: id }, at),
                Err(Error::UnknownReferral(id))
            );
            for q in [
                Query::AuditTrail {
                    facility: None,
                    referral: Some(id),
                    after: 0,
                    limit: 100,
                },
                Query::Worklist {
                    facility: "H2".into(),
                    limit: 100,
                    offset: 0,
                },
                Query::OutgoingReferrals {
                    facility: "C1".into(),
                },
            ] {
                assert_eq!(
                    e.query(actor, &q, at).unwrap_err().code(),
                    "not_permitted",
                    "{q:?} by {}",
                    actor.user
                );
            }
            // Their own lists do not hold it either.
            let own = actor.facility.clone().unwrap();
            let Ok(Answer::Worklist(w)) = e.query(
                actor,
                &Query::Worklist {
                    facility: own.clone(),
                    limit: 100,
                    offset: 0,
                },
                at,
            ) else {
                panic!()
            };
            assert_eq!(w.total, 0);
            let Ok(Answer::Referrals(out)) =
                e.query(actor, &Query::OutgoingReferrals { facility: own }, at)
            else {
                panic!()
            };
            assert!(out.is_empty());
        }
        // The facilities involved, auditors and admins see it.
        for actor in [
            dr("C1"),
            clerk("C1"),
            coord("H2"),
            clerk("H2"),
            auditor(),
            admin(),
        ] {
            assert!(
                e.query(&actor, &Query::Referral { referral: id }, at)
                    .is_ok(),
                "{} on {}",
                actor.user,
                st.as_str()
            );
        }
    }
}

#[test]
fn a_third_facility_cannot_probe_a_referral_through_a_follow_up_booking() {
    let mut e = network();
    let (id, _) = drive(&mut e, ReferralStatus::CounterReferred);
    let probe = |referral| Command::BookAppointment {
        agenda: "C2-pre".into(),
        start: mx("2026-03-05", 9, 0),
        beneficiary: "MX-P1".into(),
        follow_up_of: Some(referral),
        overbook: false,
    };
    let at = mx("2026-03-03", 12, 0);
    let seen = refuse_at(&mut e, &clerk("C2"), at, probe(id));
    let unseen = refuse_at(&mut e, &clerk("C2"), at, probe(999));
    assert_eq!(unseen.code(), "unknown_referral");
    assert_eq!(
        seen,
        Error::UnknownReferral(id),
        "a stranger must not tell an existing referral from a missing one"
    );
}
