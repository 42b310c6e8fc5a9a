//! The interoperability scenario: the synthetic demo network and every step
//! of the referral loop, so the FHIR and iCalendar exports have every kind of
//! record to show. Shared by `tests/interop.rs` and
//! `examples/interop_export.rs` (included with `#[path]`).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use enlace_core::actor::{Actor, Role};
use enlace_core::agenda::Closure;
use enlace_core::priority::Priority;
use enlace_core::referral::{
    CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination, FollowUpRequest,
    RejectReason,
};
use enlace_core::synth::{self, HOSPITAL_AGENCY, Spec};
use enlace_core::{Answer, Command, Engine, Event, Query, Request};
use std::collections::HashMap;

/// What the scenario produced, by name, for tests to look at.
#[allow(dead_code)]
pub struct Scenario {
    pub engine: Engine,
    pub spec: Spec,
    /// Appointment ids by what they show.
    pub appointments: HashMap<&'static str, u32>,
    /// Referral ids by what they show.
    pub referrals: HashMap<&'static str, u32>,
    /// The instant after the last step.
    pub now: DateTime<Utc>,
    /// The window the slots are exported for (holiday and closure inside).
    pub window: (DateTime<Utc>, DateTime<Utc>),
    pub holiday: NaiveDate,
}

struct Run {
    engine: Engine,
    actors: HashMap<String, Actor>,
}

impl Run {
    fn exec(&mut self, who: &str, at: DateTime<Utc>, command: Command) -> Vec<Event> {
        let actor = self.actors[who].clone();
        let name = command.name();
        match self.engine.execute(Request {
            actor,
            at,
            key: None,
            command,
        }) {
            Ok(out) => out.events,
            Err(e) => panic!("{who} {name} at {at}: {e}"),
        }
    }

    fn free(
        &self,
        service: &str,
        facility: &str,
        from: DateTime<Utc>,
        referral: bool,
        n: usize,
    ) -> Vec<(String, DateTime<Utc>)> {
        let ans = self
            .engine
            .query(
                &self.actors["admin"],
                &Query::FreeSlots {
                    service: service.into(),
                    region: None,
                    tier: None,
                    facilities: vec![facility.into()],
                    from,
                    to: from + Duration::days(20),
                    limit: n as u16,
                    for_referral: referral,
                },
                from,
            )
            .unwrap();
        let Answer::FreeSlots(slots) = ans else {
            panic!("{ans:?}")
        };
        slots.into_iter().map(|s| (s.agenda, s.start)).collect()
    }
}

fn booked(events: &[Event]) -> u32 {
    events
        .iter()
        .find_map(|e| match e {
            Event::AppointmentBooked { appointment, .. } => Some(*appointment),
            _ => None,
        })
        .expect("an appointment was booked")
}

fn created(events: &[Event]) -> u32 {
    events
        .iter()
        .find_map(|e| match e {
            Event::ReferralCreated { referral, .. } => Some(*referral),
            _ => None,
        })
        .expect("a referral was created")
}

/// A referral to the second level: by tier (routing picks the hospital)
/// or to a named facility.
fn referral(b: u32, to: Option<&str>) -> Command {
    Command::CreateReferral {
        beneficiary: synth::beneficiary_id(b),
        service: "obs-hr".into(),
        destination: match to {
            Some(f) => Destination::Facility(f.to_owned()),
            None => Destination::Tier(enlace_core::facility::Tier::Second),
        },
        priority: Priority::Urgent,
        reason: ClinicalReason {
            icd10: vec!["O14.1".into(), "O24.4".into()],
            text: "Severe pre-eclampsia, gestational diabetes; \"high risk\", 32 weeks".into(),
        },
        attachments: vec![enlace_core::referral::Attachment {
            id: format!("lab-{b}"),
            media_type: "application/pdf".into(),
            title: "Laboratory results".into(),
        }],
    }
}

/// Builds the network and runs the loop.
pub fn build() -> Scenario {
    let spec = Spec::demo();
    let mut engine = Engine::new();
    for r in synth::reference(&spec) {
        engine.execute(r).unwrap();
    }
    let mut actors: HashMap<String, Actor> = synth::demo_actors(&spec).into_iter().collect();
    let second = synth::facility_id(spec.tier1 + 1);
    actors.insert(
        "second-coordinator".into(),
        Actor::new(
            "coord.sara",
            HOSPITAL_AGENCY,
            Some(&second),
            Role::Coordinator,
        ),
    );
    actors.insert(
        "second-clerk".into(),
        Actor::new("rec.tomas", HOSPITAL_AGENCY, Some(&second), Role::Clerk),
    );
    let south = synth::facility_id(1);
    actors.insert(
        "south-clerk".into(),
        Actor::new("rec.ines", synth::CLINIC_AGENCY, Some(&south), Role::Clerk),
    );
    let mut run = Run { engine, actors };
    let clinic = synth::facility_id(0);
    let hospital = synth::facility_id(spec.tier1);
    let t0 = spec.start + Duration::hours(1);
    let holiday = spec.start.date_naive() + Duration::days(8);
    let mut appointments = HashMap::new();
    let mut referrals = HashMap::new();

    // Unavailable time: a network holiday and a partial closure.
    run.exec(
        "admin",
        t0,
        Command::DeclareHoliday {
            date: holiday,
            name: "Día del sistema".into(),
        },
    );
    run.exec(
        "admin",
        t0,
        Command::AddClosure {
            agenda: format!("{hospital}-A01"),
            closure: Closure {
                date: spec.start.date_naive() + Duration::days(2),
                from: NaiveTime::from_hms_opt(13, 0, 0),
                to: NaiveTime::from_hms_opt(17, 0, 0),
                reason: "Staff training; no clinics".into(),
            },
        },
    );

    // 1. The whole loop: referred, accepted, scheduled, arrived,
    //    counter-referred with a follow-up, acknowledged, follow-up booked.
    let r1 = created(&run.exec("clinic-clinician", t0, referral(0, None)));
    referrals.insert("completed", r1);
    run.exec(
        "hospital-coordinator",
        t0,
        Command::AcceptReferral {
            referral: r1,
            note: "Bed available".into(),
        },
    );
    let (agenda, start) = run.free("obs-hr", &hospital, t0, true, 1).remove(0);
    let a1 = booked(&run.exec(
        "hospital-coordinator",
        t0,
        Command::ScheduleReferral {
            referral: r1,
            agenda,
            start,
        },
    ));
    appointments.insert("fulfilled", a1);
    run.exec(
        "hospital-clerk",
        start,
        Command::MarkArrived { appointment: a1 },
    );
    run.exec(
        "hospital-clinician",
        start + Duration::minutes(30),
        Command::SendCounterReferral {
            referral: r1,
            counter_referral: CounterReferral {
                summary: CareSummary {
                    diagnoses: vec!["O14.1".into()],
                    procedures: vec!["Magnesium sulfate".into(), "Antihypertensives".into()],
                    outcome: CareOutcome::Improved,
                    text: "Stable; blood pressure controlled.".into(),
                },
                instructions: "Blood pressure weekly; return if headache or visual disturbance."
                    .into(),
                follow_up: Some(FollowUpRequest {
                    service: "prenatal".into(),
                    within_days: 7,
                    note: "Check proteinuria".into(),
                }),
            },
        },
    );
    let t1 = start + Duration::hours(2);
    run.exec(
        "clinic-clinician",
        t1,
        Command::AcknowledgeCounterReferral { referral: r1 },
    );
    let (agenda, fstart) = run.free("prenatal", &clinic, t1, false, 1).remove(0);
    let follow = booked(&run.exec(
        "clinic-clerk",
        t1,
        Command::BookAppointment {
            agenda,
            start: fstart,
            beneficiary: synth::beneficiary_id(0),
            follow_up_of: Some(r1),
            overbook: false,
        },
    ));
    appointments.insert("follow_up", follow);

    // 2. Redirected to another hospital, scheduled there, missed (no-show).
    let r2 = created(&run.exec("clinic-clinician", t0, referral(1, Some(&hospital))));
    referrals.insert("no_show", r2);
    run.exec(
        "hospital-coordinator",
        t0,
        Command::RedirectReferral {
            referral: r2,
            to: synth::facility_id(spec.tier1 + 1),
            reason: "No obstetric beds this week".into(),
        },
    );
    run.exec(
        "second-coordinator",
        t0,
        Command::AcceptReferral {
            referral: r2,
            note: String::new(),
        },
    );
    let second = synth::facility_id(spec.tier1 + 1);
    let (agenda, start2) = run.free("obs-hr", &second, t0, true, 1).remove(0);
    let a2 = booked(&run.exec(
        "second-coordinator",
        t0,
        Command::ScheduleReferral {
            referral: r2,
            agenda,
            start: start2,
        },
    ));
    appointments.insert("no_show", a2);
    run.exec(
        "second-clerk",
        start2 + Duration::minutes(20),
        Command::MarkNoShow { appointment: a2 },
    );

    // 3. Declined.
    let r3 = created(&run.exec("clinic-clinician", t0, referral(2, Some(&hospital))));
    referrals.insert("declined", r3);
    run.exec(
        "hospital-coordinator",
        t0,
        Command::RejectReferral {
            referral: r3,
            reason: RejectReason::CriteriaNotMet,
            text: "Manage at first level with weekly control".into(),
        },
    );

    // 4. Scheduled, then withdrawn by the origin (its appointment is cancelled).
    let r4 = created(&run.exec("clinic-clinician", t0, referral(3, Some(&hospital))));
    referrals.insert("cancelled", r4);
    run.exec(
        "hospital-coordinator",
        t0,
        Command::ReceiveReferral { referral: r4 },
    );
    run.exec(
        "hospital-coordinator",
        t0,
        Command::AcceptReferral {
            referral: r4,
            note: String::new(),
        },
    );
    let (agenda, start4) = run.free("obs-hr", &hospital, t0, true, 1).remove(0);
    let a4 = booked(&run.exec(
        "hospital-coordinator",
        t0,
        Command::ScheduleReferral {
            referral: r4,
            agenda,
            start: start4,
        },
    ));
    appointments.insert("referral_cancelled", a4);
    run.exec(
        "clinic-clinician",
        t0 + Duration::hours(2),
        Command::CancelReferral {
            referral: r4,
            reason: "Delivered at the clinic".into(),
        },
    );

    // 5. Escalated to the third level; 6. just requested.
    let r5 = created(&run.exec("clinic-clinician", t0, referral(4, Some(&hospital))));
    referrals.insert("escalated", r5);
    run.exec(
        "hospital-coordinator",
        t0,
        Command::EscalateReferral {
            referral: r5,
            to: None,
            reason: "Needs maternal-fetal medicine".into(),
        },
    );
    let r6 = created(&run.exec("clinic-clinician", t0, referral(5, Some(&hospital))));
    referrals.insert("requested", r6);

    // Ordinary appointments at the clinic: rescheduled, cancelled, attended, booked.
    let slots = run.free("prenatal", &clinic, t0, false, 8);
    let b = |i| synth::beneficiary_id(i);
    let book = |run: &mut Run, i: u32, k: usize| {
        let (agenda, start) = slots[k].clone();
        booked(&run.exec(
            "clinic-clerk",
            t0,
            Command::BookAppointment {
                agenda,
                start,
                beneficiary: b(i),
                follow_up_of: None,
                overbook: false,
            },
        ))
    };
    let moved = book(&mut run, 6, 0);
    appointments.insert("rescheduled_from", moved);
    let events = run.exec(
        "clinic-clerk",
        t0,
        Command::RescheduleAppointment {
            appointment: moved,
            agenda: None,
            start: slots[5].1,
            reason: "Patient asked for a later time".into(),
        },
    );
    appointments.insert("rescheduled_to", booked(&events));
    let cancelled = book(&mut run, 7, 1);
    run.exec(
        "clinic-clerk",
        t0,
        Command::CancelAppointment {
            appointment: cancelled,
            reason: "Travelling".into(),
        },
    );
    appointments.insert("cancelled", cancelled);
    let attended = book(&mut run, 8, 2);
    run.exec(
        "clinic-clerk",
        slots[2].1,
        Command::MarkArrived {
            appointment: attended,
        },
    );
    run.exec(
        "clinic-clinician",
        slots[2].1 + Duration::minutes(10),
        Command::MarkFulfilled {
            appointment: attended,
        },
    );
    appointments.insert("attended", attended);
    let arrived = book(&mut run, 9, 3);
    run.exec(
        "clinic-clerk",
        slots[3].1,
        Command::MarkArrived {
            appointment: arrived,
        },
    );
    appointments.insert("arrived", arrived);
    appointments.insert("booked", book(&mut run, 10, 4));

    // The waitlist: one waiting, one who left.
    run.exec(
        "clinic-clerk",
        t0,
        Command::JoinWaitlist {
            beneficiary: b(11),
            service: "prenatal".into(),
            facility: Some(clinic.clone()),
            priority: Priority::Priority,
        },
    );
    run.exec(
        "clinic-clerk",
        t0,
        Command::JoinWaitlist {
            beneficiary: b(12),
            service: "gp".into(),
            facility: None,
            priority: Priority::Routine,
        },
    );
    run.exec(
        "clinic-clerk",
        t0,
        Command::LeaveWaitlist {
            entry: 2,
            reason: "Found care elsewhere".into(),
        },
    );

    // Appointments either side of Chile's change of clock (4-5 April 2026),
    // so a calendar's VTIMEZONE has a transition in it.
    for (name, day) in [("before_dst_change", 28), ("after_dst_change", 36)] {
        let from = spec.start + Duration::days(day);
        let (agenda, start) = run.free("prenatal", &south, from, false, 1).remove(0);
        let id = booked(&run.exec(
            "south-clerk",
            t0,
            Command::BookAppointment {
                agenda,
                start,
                beneficiary: b(13),
                follow_up_of: None,
                overbook: false,
            },
        ));
        appointments.insert(name, id);
    }

    let day0 = spec.start - Duration::hours(12);
    Scenario {
        engine: run.engine,
        now: t1 + Duration::hours(1),
        window: (day0, day0 + Duration::days(14)),
        holiday,
        spec,
        appointments,
        referrals,
    }
}
