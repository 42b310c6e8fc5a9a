use enlace_core::referral::{
    CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination, FollowUpRequest,
};
use enlace_core::synth::{self, Spec};
use enlace_core::{Command, Engine, Query, Request, facility::Tier, priority::Priority};

#[test]
fn demo_network_runs_the_whole_loop() {
    let spec = Spec::demo();
    let mut engine = Engine::new();
    for r in synth::reference(&spec) {
        engine.execute(r).unwrap();
    }
    let actors: std::collections::HashMap<_, _> = synth::demo_actors(&spec).into_iter().collect();
    let at = spec.start + chrono::Duration::hours(1);
    let run = |e: &mut Engine, who: &str, at, command| {
        e.execute(Request {
            actor: actors[who].clone(),
            at,
            key: None,
            command,
        })
    };
    let b = synth::beneficiary_id(0);
    let out = run(
        &mut engine,
        "clinic-clinician",
        at,
        Command::CreateReferral {
            beneficiary: b.clone(),
            service: "obs-hr".into(),
            destination: Destination::Tier(Tier::Second),
            priority: Priority::Urgent,
            reason: ClinicalReason {
                icd10: vec!["O14.1".into()],
                text: "Severe pre-eclampsia".into(),
            },
            attachments: vec![],
        },
    )
    .unwrap();
    println!("{}", serde_json::to_string_pretty(&out.events).unwrap());
    let hosp = actors["hospital-coordinator"].facility.clone().unwrap();
    let enlace_core::Event::ReferralCreated { destination, .. } = &out.events[0] else {
        panic!()
    };
    assert_eq!(destination, &hosp);
    run(
        &mut engine,
        "hospital-coordinator",
        at,
        Command::AcceptReferral {
            referral: 1,
            note: "ok".into(),
        },
    )
    .unwrap();
    let ans = engine
        .query(
            &actors["hospital-coordinator"],
            &Query::FreeSlots {
                service: "obs-hr".into(),
                region: None,
                tier: None,
                facilities: vec![hosp.clone()],
                from: at,
                to: at + chrono::Duration::days(5),
                limit: 3,
                for_referral: true,
            },
            at,
        )
        .unwrap();
    println!("{}", serde_json::to_string(&ans).unwrap());
    let enlace_core::Answer::FreeSlots(slots) = ans else {
        panic!()
    };
    let s = &slots[0];
    let out = run(
        &mut engine,
        "hospital-coordinator",
        at,
        Command::ScheduleReferral {
            referral: 1,
            agenda: s.agenda.clone(),
            start: s.start,
        },
    )
    .unwrap();
    let enlace_core::Event::AppointmentBooked { appointment, .. } = out.events[0] else {
        panic!()
    };
    run(
        &mut engine,
        "hospital-clerk",
        s.start,
        Command::MarkArrived { appointment },
    )
    .unwrap();
    run(
        &mut engine,
        "hospital-clinician",
        s.start,
        Command::SendCounterReferral {
            referral: 1,
            counter_referral: CounterReferral {
                summary: CareSummary {
                    diagnoses: vec!["O14.1".into()],
                    procedures: vec!["Magnesium sulfate".into()],
                    outcome: CareOutcome::Improved,
                    text: "Stable".into(),
                },
                instructions: "BP weekly".into(),
                follow_up: Some(FollowUpRequest {
                    service: "prenatal".into(),
                    within_days: 7,
                    note: String::new(),
                }),
            },
        },
    )
    .unwrap();
    run(
        &mut engine,
        "clinic-clinician",
        s.start,
        Command::AcknowledgeCounterReferral { referral: 1 },
    )
    .unwrap();
    let r = engine.state().referral(1).unwrap();
    assert_eq!(r.status, enlace_core::referral::ReferralStatus::Completed);
    println!("{}", serde_json::to_string_pretty(&r.timeline).unwrap());
    assert!(engine.verify().broken.is_none());
    let replay = Engine::from_entries(engine.journal().to_vec()).unwrap();
    assert_eq!(replay.state().seq(), engine.state().seq());
}
