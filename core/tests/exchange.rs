//! FHIR and iCalendar as engine queries (`Query::Fhir`, `Query::Calendar`):
//! what every face answers. The mappings themselves are tested in
//! `interop.rs`; here, that the queries give the same bytes as the mapping
//! functions, and that readers see exactly what the engine's other queries
//! show them: a third facility sees nothing of a referral, not even in a
//! search's `total`.

#[path = "common/interop_scenario.rs"]
mod scenario;

use enlace_core::facility::Tier;
use enlace_core::interop::{SearchContext, ical, search};
use enlace_core::query::{CalendarOf, FhirParam};
use enlace_core::synth::{self, CLINIC_AGENCY, Spec};
use enlace_core::{Actor, Answer, Engine, Error, Query, Role};
use serde_json::Value;
use std::sync::OnceLock;

fn world() -> &'static scenario::Scenario {
    static S: OnceLock<scenario::Scenario> = OnceLock::new();
    S.get_or_init(scenario::build)
}

fn actor(name: &str) -> Actor {
    synth::demo_actors(&Spec::demo())
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| a)
        .unwrap()
}

fn fhir_query(resource_type: &str, id: Option<&str>, params: &[(&str, &str)]) -> Query {
    Query::Fhir {
        resource_type: resource_type.into(),
        id: id.map(str::to_owned),
        params: params
            .iter()
            .map(|(n, v)| FhirParam {
                name: (*n).into(),
                value: (*v).into(),
            })
            .collect(),
        base_url: None,
    }
}

fn ask(e: &Engine, who: &Actor, q: &Query) -> Result<String, Error> {
    match e.query(who, q, world().now)? {
        Answer::Fhir(text) | Answer::Calendar(text) => Ok(text),
        other => panic!("unexpected answer {other:?}"),
    }
}

fn bundle(e: &Engine, who: &Actor, resource_type: &str, params: &[(&str, &str)]) -> Value {
    let text = ask(e, who, &fhir_query(resource_type, None, params)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A clinic of the network that no referral of the scenario involves.
fn third_clinic(e: &Engine) -> String {
    e.state()
        .facilities()
        .iter()
        .filter(|f| f.tier == Tier::First)
        .map(|f| f.id.clone())
        .find(|f| !e.state().referrals().iter().any(|r| r.involves(f)))
        .expect("the demo network has a clinic outside every referral")
}

#[test]
fn a_search_query_gives_the_mapping_functions_bundle() {
    let s = world();
    let auditor = actor("auditor");
    let got = bundle(&s.engine, &auditor, "Task", &[("status", "completed")]);
    let ctx = SearchContext {
        now: s.now,
        base_url: None,
        national_id_system: None,
    };
    let params = vec![("status".to_owned(), "completed".to_owned())];
    let want = search(s.engine.state(), "Task", &params, &ctx).unwrap();
    assert_eq!(got, want);
    assert!(got["total"].as_u64().unwrap() >= 1, "{got}");
}

#[test]
fn a_third_facility_sees_no_referral_not_even_in_the_total() {
    let s = world();
    let e = &s.engine;
    let all = e.state().referrals().len() as u64;
    assert!(all >= 3);
    let auditor = actor("auditor");
    for kind in ["ServiceRequest", "Task"] {
        assert_eq!(bundle(e, &auditor, kind, &[])["total"], all, "{kind}");
    }
    let outsider = Actor::new(
        "dr.otro",
        CLINIC_AGENCY,
        Some(&third_clinic(e)),
        Role::Clinician,
    );
    for kind in ["ServiceRequest", "Task", "Communication"] {
        let b = bundle(e, &outsider, kind, &[]);
        assert_eq!(b["total"], 0, "{kind}: {b}");
    }
    // A read of a referral it is not party to is "not found", like the
    // engine's own `referral` query.
    let id = e.state().referrals()[0].id;
    let err = ask(
        e,
        &outsider,
        &fhir_query("Task", Some(&format!("referral-{id}")), &[]),
    )
    .unwrap_err();
    assert_eq!(err.code(), "unknown_resource");
    let err = e
        .query(&outsider, &Query::Referral { referral: id }, s.now)
        .unwrap_err();
    assert_eq!(err.code(), "unknown_referral");

    // The origin clinic sees its own referrals, and only those.
    let clinician = actor("clinic-clinician");
    let own = e
        .state()
        .referrals()
        .iter()
        .filter(|r| r.involves(clinician.facility.as_deref().unwrap()))
        .count() as u64;
    assert!(own >= 1 && own <= all);
    assert_eq!(bundle(e, &clinician, "ServiceRequest", &[])["total"], own);
}

#[test]
fn people_need_a_role_that_handles_beneficiaries() {
    let s = world();
    let nobody = Actor::new("kiosk", CLINIC_AGENCY, None, Role::Clerk);
    for kind in ["Patient", "Coverage", "Appointment"] {
        let err = ask(&s.engine, &nobody, &fhir_query(kind, None, &[])).unwrap_err();
        assert_eq!(err.code(), "not_permitted", "{kind}");
    }
    // Reference data are open to every actor of the network.
    for kind in ["Organization", "Location", "HealthcareService", "Schedule"] {
        let b = bundle(&s.engine, &nobody, kind, &[]);
        assert!(b["total"].as_u64().unwrap() > 0, "{kind}");
    }
    let meta: Value =
        serde_json::from_str(&ask(&s.engine, &nobody, &fhir_query("metadata", None, &[])).unwrap())
            .unwrap();
    assert_eq!(meta["resourceType"], "CapabilityStatement");
}

#[test]
fn bad_fhir_input_is_a_stable_error() {
    let s = world();
    let auditor = actor("auditor");
    let cases: [(Query, &str, &str); 5] = [
        (
            fhir_query("Banana", None, &[]),
            "invalid_input",
            "resource_type",
        ),
        (
            fhir_query("Appointment", None, &[("colour", "red")]),
            "invalid_input",
            "colour",
        ),
        (
            fhir_query("Appointment", None, &[("date", "ge2026-13-45")]),
            "invalid_input",
            "date",
        ),
        (
            fhir_query("Appointment", Some("appointment-999999"), &[]),
            "unknown_resource",
            "",
        ),
        (
            fhir_query("metadata", None, &[("x", "y")]),
            "invalid_input",
            "resource_type",
        ),
    ];
    for (q, code, field) in cases {
        let err = ask(&s.engine, &auditor, &q).unwrap_err();
        assert_eq!(err.code(), code, "{q:?}: {err}");
        if !field.is_empty() {
            assert_eq!(err.details()["field"], field, "{q:?}");
        }
    }
}

#[test]
fn calendars_are_the_ical_module_s_and_feeds_are_for_the_facility() {
    let s = world();
    let e = &s.engine;
    let clerk = actor("clinic-clerk");
    let b = synth::beneficiary_id(0);
    let q = Query::Calendar {
        of: CalendarOf::Beneficiary,
        id: b.clone(),
        from: None,
        to: None,
    };
    let got = ask(e, &clerk, &q).unwrap();
    assert_eq!(
        got,
        ical::beneficiary_calendar(e.state(), &b, s.now).unwrap()
    );
    assert!(got.starts_with("BEGIN:VCALENDAR\r\n"));

    let agenda = e
        .state()
        .agendas()
        .find(|a| Some(a.config.facility.as_str()) == clerk.facility.as_deref())
        .unwrap()
        .config
        .id
        .clone();
    let (from, to) = s.window;
    let feed = |who: &Actor| {
        ask(
            e,
            who,
            &Query::Calendar {
                of: CalendarOf::Agenda,
                id: agenda.clone(),
                from: Some(from),
                to: Some(to),
            },
        )
    };
    assert_eq!(
        feed(&clerk).unwrap(),
        ical::agenda_feed(e.state(), &agenda, from, to, s.now).unwrap()
    );
    // Another facility's staff may not read this agenda's feed.
    let err = feed(&actor("hospital-clerk")).unwrap_err();
    assert_eq!(err.code(), "not_permitted");
    // A feed needs its window; a beneficiary's calendar takes none.
    let err = ask(
        e,
        &clerk,
        &Query::Calendar {
            of: CalendarOf::Agenda,
            id: agenda.clone(),
            from: Some(from),
            to: None,
        },
    )
    .unwrap_err();
    assert_eq!(
        (err.code(), err.details()["field"].as_str()),
        ("invalid_input", "to")
    );
    let err = ask(
        e,
        &clerk,
        &Query::Calendar {
            of: CalendarOf::Appointment,
            id: "first".into(),
            from: None,
            to: None,
        },
    )
    .unwrap_err();
    assert_eq!(
        (err.code(), err.details()["field"].as_str()),
        ("invalid_input", "id")
    );
}

#[test]
fn finding_a_beneficiary_ignores_case_and_accents() {
    let s = world();
    let clerk = actor("clinic-clerk");
    let person = &s.engine.state().beneficiaries()[0];
    let typed: String = person
        .name
        .to_uppercase()
        .replace(['Á', 'À'], "A")
        .replace('É', "E")
        .replace('Í', "I")
        .replace('Ó', "O")
        .replace('Ú', "U")
        .replace('Ñ', "N");
    let q = Query::FindBeneficiaries { text: typed };
    let Answer::Beneficiaries(found) = s.engine.query(&clerk, &q, s.now).unwrap() else {
        panic!()
    };
    assert!(found.iter().any(|b| b.id == person.id), "{found:?}");
}
