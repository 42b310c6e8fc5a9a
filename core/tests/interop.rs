//! FHIR R4 and iCalendar export and import: mappings, round trip, import
//! errors, search, and what iCalendar parsers do not check (CRLF, folding,
//! DTEND after DTSTART). Third-party validators run in tests/interop/.

#[path = "common/interop_scenario.rs"]
mod scenario;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use enlace_core::agenda::{AgendaConfig, WeeklyBlock};
use enlace_core::facility::{Facility, Service, Tier};
use enlace_core::interop::fhir::{self, ExportRequest, ResourceKind, Window};
use enlace_core::interop::fhir_import::{ImportOptions, import_bundle};
use enlace_core::interop::{SearchContext, ical, read, search};
use enlace_core::{Actor, Command, Engine, Query, Request, Role, State};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::OnceLock;

fn world() -> &'static scenario::Scenario {
    static S: OnceLock<scenario::Scenario> = OnceLock::new();
    S.get_or_init(scenario::build)
}

fn full_export(s: &scenario::Scenario) -> Vec<Value> {
    let mut req = ExportRequest::all(s.now);
    req.window = Some(Window {
        start: s.window.0,
        end: s.window.1,
    });
    fhir::export_resources(s.engine.state(), &req).unwrap()
}

fn of_type<'a>(all: &'a [Value], rt: &str) -> Vec<&'a Value> {
    all.iter().filter(|r| r["resourceType"] == rt).collect()
}

fn by_id<'a>(all: &'a [Value], rt: &str, id: &str) -> &'a Value {
    all.iter()
        .find(|r| r["resourceType"] == rt && r["id"] == id)
        .unwrap_or_else(|| panic!("{rt}/{id} not exported"))
}

fn ctx(s: &scenario::Scenario) -> SearchContext {
    SearchContext {
        now: s.now,
        base_url: Some("https://enlace.test/fhir".into()),
        national_id_system: None,
    }
}

fn params(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|x| x["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn export_has_every_kind_with_valid_unique_ids() {
    let s = world();
    let all = full_export(s);
    let kinds: BTreeSet<&str> = all
        .iter()
        .map(|r| r["resourceType"].as_str().unwrap())
        .collect();
    for k in ResourceKind::ALL {
        assert!(kinds.contains(k.as_str()), "no {} exported", k.as_str());
    }
    let mut seen = BTreeSet::new();
    for r in &all {
        let id = r["id"].as_str().unwrap();
        assert!(
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
            "invalid FHIR id {id}"
        );
        assert!(
            seen.insert((r["resourceType"].as_str().unwrap(), id)),
            "duplicate {}/{id}",
            r["resourceType"]
        );
    }
    // The same state exports the same bytes.
    assert_eq!(
        serde_json::to_string(&all).unwrap(),
        serde_json::to_string(&full_export(s)).unwrap()
    );
}

#[test]
fn appointments_map_their_statuses() {
    let s = world();
    let all = full_export(s);
    let status = |name: &str| {
        by_id(
            &all,
            "Appointment",
            &fhir::appointment_id(s.appointments[name]),
        )["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status("fulfilled"), "fulfilled");
    assert_eq!(status("attended"), "fulfilled");
    assert_eq!(status("arrived"), "arrived");
    assert_eq!(status("booked"), "booked");
    assert_eq!(status("no_show"), "noshow");
    assert_eq!(status("cancelled"), "cancelled");
    assert_eq!(status("referral_cancelled"), "cancelled");
    assert_eq!(status("rescheduled_from"), "cancelled");
    let old = by_id(
        &all,
        "Appointment",
        &fhir::appointment_id(s.appointments["rescheduled_from"]),
    );
    assert!(
        old["cancelationReason"]["text"]
            .as_str()
            .unwrap()
            .contains("Rescheduled")
    );
    let new = by_id(
        &all,
        "Appointment",
        &fhir::appointment_id(s.appointments["rescheduled_to"]),
    );
    assert_eq!(
        new["extension"][0]["valueReference"]["reference"],
        format!(
            "Appointment/{}",
            fhir::appointment_id(s.appointments["rescheduled_from"])
        )
    );
    let referred = by_id(
        &all,
        "Appointment",
        &fhir::appointment_id(s.appointments["fulfilled"]),
    );
    assert_eq!(
        referred["basedOn"][0]["reference"],
        format!("ServiceRequest/referral-{}", s.referrals["completed"])
    );
    let actors: Vec<&str> = referred["participant"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["actor"]["reference"].as_str())
        .collect();
    assert!(actors.iter().any(|a| a.starts_with("Patient/patient-MX-")));
    assert!(
        actors
            .iter()
            .any(|a| a.starts_with("Location/facility-F0004"))
    );
    // Start and end are instants, 15 minutes apart.
    let start: DateTime<Utc> = referred["start"].as_str().unwrap().parse().unwrap();
    let end: DateTime<Utc> = referred["end"].as_str().unwrap().parse().unwrap();
    assert_eq!(end - start, Duration::minutes(15));
    // Waitlist entries: one waiting, one that left.
    let wl: Vec<&Value> = of_type(&all, "Appointment")
        .into_iter()
        .filter(|a| a["id"].as_str().unwrap().starts_with("waitlist-"))
        .collect();
    let statuses: BTreeSet<&str> = wl.iter().map(|a| a["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, BTreeSet::from(["waitlist", "cancelled"]));
    assert!(wl.iter().all(|a| a.get("start").is_none()));
}

#[test]
fn referrals_map_to_service_request_task_and_communication() {
    let s = world();
    let all = full_export(s);
    let task = |name: &str| by_id(&all, "Task", &fhir::referral_id(s.referrals[name]));
    let step = |t: &Value| {
        t["businessStatus"]["coding"][0]["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let cases = [
        ("completed", "completed", "completed"),
        ("no_show", "accepted", "no-show"),
        ("declined", "rejected", "declined"),
        ("cancelled", "cancelled", "cancelled"),
        ("escalated", "requested", "escalated"),
        ("requested", "requested", "requested"),
    ];
    for (name, status, business) in cases {
        let t = task(name);
        assert_eq!(t["status"], status, "{name}");
        assert_eq!(step(t), business, "{name}");
        assert_eq!(
            t["focus"]["reference"],
            format!("ServiceRequest/referral-{}", s.referrals[name])
        );
        assert_eq!(t["requester"]["reference"], "#origin");
        assert_eq!(
            t["contained"][0]["location"][0]["reference"],
            "Location/facility-F0001"
        );
    }
    // The redirected referral is owned by its new destination and keeps the note.
    let t = task("no_show");
    assert_eq!(
        t["owner"]["reference"],
        "HealthcareService/service-F0005.obs-hr"
    );
    assert!(
        t["note"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Redirected")
    );
    // The counter-referral: a Communication on the ServiceRequest, in Task.output.
    let done = task("completed");
    let outputs: Vec<&str> = done["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["valueReference"]["reference"].as_str().unwrap())
        .collect();
    let comm_ref = format!(
        "Communication/counter-referral-{}",
        s.referrals["completed"]
    );
    assert!(outputs.contains(&comm_ref.as_str()), "{outputs:?}");
    let comm = by_id(
        &all,
        "Communication",
        &fhir::counter_referral_id(s.referrals["completed"]),
    );
    assert_eq!(
        comm["basedOn"][0]["reference"],
        format!("ServiceRequest/referral-{}", s.referrals["completed"])
    );
    assert_eq!(
        comm["reasonCode"][0]["coding"][0]["system"],
        fhir::SYSTEM_ICD10
    );
    assert!(comm["sent"].is_string() && comm["received"].is_string());
    // Only sent counter-referrals exist.
    assert_eq!(of_type(&all, "Communication").len(), 1);
    // ServiceRequest: priority, reasons, status.
    let sr = by_id(
        &all,
        "ServiceRequest",
        &fhir::referral_id(s.referrals["completed"]),
    );
    assert_eq!(sr["intent"], "order");
    assert_eq!(sr["priority"], "asap");
    assert_eq!(sr["status"], "completed");
    assert_eq!(
        sr["reasonCode"][1]["coding"][0],
        json!({"system": fhir::SYSTEM_ICD10, "code": "O24.4"})
    );
    assert_eq!(
        by_id(
            &all,
            "ServiceRequest",
            &fhir::referral_id(s.referrals["declined"])
        )["status"],
        "revoked"
    );
    assert_eq!(
        by_id(
            &all,
            "ServiceRequest",
            &fhir::referral_id(s.referrals["requested"])
        )["status"],
        "active"
    );
    assert!(
        sr["supportingInfo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["reference"] == "Contract/agreement-convenio-126")
    );
    // The priority mapping keeps the order of urgency.
    use enlace_core::priority::Priority::*;
    let order = ["routine", "urgent", "asap", "stat"];
    let mapped: Vec<&str> = [Routine, Priority, Urgent, Emergency]
        .into_iter()
        .map(fhir::request_priority)
        .collect();
    assert_eq!(mapped, order);
}

#[test]
fn reference_data_people_and_agreements_map() {
    let s = world();
    let all = full_export(s);
    let loc = by_id(&all, "Location", "facility-F0004");
    assert_eq!(loc["extension"][0]["valueCode"], "America/Asuncion");
    assert_eq!(loc["type"][0]["coding"][0]["code"], "2");
    assert_eq!(
        loc["managingOrganization"]["reference"],
        "Organization/agency-imss"
    );
    let orgs: BTreeSet<&str> = of_type(&all, "Organization")
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, BTreeSet::from(["imss", "imss-bienestar"]));
    let hs = by_id(&all, "HealthcareService", "service-F0004.obs-hr");
    assert_eq!(hs["location"][0]["reference"], "Location/facility-F0004");
    assert_eq!(
        hs["availableTime"][0]["daysOfWeek"],
        json!(["mon", "tue", "wed", "thu", "fri"])
    );
    let sched = by_id(&all, "Schedule", "agenda-F0004-A01");
    let actors: Vec<&str> = sched["actor"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["reference"].as_str())
        .collect();
    assert_eq!(
        actors,
        [
            "Location/facility-F0004",
            "HealthcareService/service-F0004.obs-hr"
        ]
    );
    assert_eq!(sched["planningHorizon"]["start"], "2026-03-02");
    let p = by_id(&all, "Patient", "patient-MX-10000000");
    assert_eq!(
        p["identifier"][0],
        json!({"use": "official", "system": enlace_core::interop::SYSTEM_NATIONAL_ID, "value": "MX-10000000"})
    );
    assert_eq!(p["gender"], "female");
    let c = by_id(&all, "Contract", "agreement-convenio-126");
    assert_eq!(c["status"], "executed");
    assert_eq!(c["authority"].as_array().unwrap().len(), 2);
    assert!(c["term"][0]["offer"]["party"].as_array().unwrap().len() == 2);
    let cov = of_type(&all, "Coverage");
    assert!(
        cov.iter()
            .any(|c| c["class"][0]["value"] == "bienestar-salud")
    );
    // Slots: free, full, and unavailable on the holiday and in the closure.
    let slots = of_type(&all, "Slot");
    let statuses: BTreeSet<&str> = slots
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from(["free", "busy", "busy-unavailable"])
    );
    let holiday = s.holiday.format("%Y-%m-%d").to_string();
    let on_holiday: Vec<&&Value> = slots
        .iter()
        .filter(|x| {
            x["schedule"]["reference"] == "Schedule/agenda-F0001-A01"
                && x["comment"] == "network holiday"
        })
        .collect();
    assert!(!on_holiday.is_empty() && on_holiday.iter().all(|x| x["status"] == "busy-unavailable"));
    assert!(
        on_holiday
            .iter()
            .all(|x| x["start"].as_str().unwrap().starts_with(&holiday))
    );
    assert!(
        slots
            .iter()
            .any(|x| x["comment"] == "Staff training; no clinics"
                && x["status"] == "busy-unavailable")
    );
    let booked = by_id(
        &all,
        "Appointment",
        &fhir::appointment_id(s.appointments["booked"]),
    );
    let slot = by_id(
        &all,
        "Slot",
        booked["slot"][0]["reference"]
            .as_str()
            .unwrap()
            .trim_start_matches("Slot/"),
    );
    assert_eq!(slot["status"], "busy");
}

#[test]
fn facility_filter_and_window_limits() {
    let s = world();
    let mut req = ExportRequest::all(s.now);
    req.facilities = vec!["F0005".into()];
    let part = fhir::export_resources(s.engine.state(), &req).unwrap();
    let locs: Vec<&str> = of_type(&part, "Location")
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(locs, ["facility-F0005"]);
    // Only the redirected referral touched F0005, and only its patient follows.
    assert_eq!(of_type(&part, "Task").len(), 1);
    assert_eq!(of_type(&part, "Patient").len(), 1);
    req.kinds = vec![ResourceKind::Slot];
    assert!(
        fhir::export_resources(s.engine.state(), &req).is_err(),
        "slots need a window"
    );
    req.window = Some(Window {
        start: s.now,
        end: s.now + Duration::days(90),
    });
    let err = fhir::export_resources(s.engine.state(), &req).unwrap_err();
    assert_eq!(err.code(), "invalid_parameter");
    assert_eq!(err.operation_outcome()["issue"][0]["code"], "invalid");
    req.facilities = vec!["nowhere".into()];
    assert_eq!(
        fhir::export_resources(s.engine.state(), &req)
            .unwrap_err()
            .code(),
        "unknown"
    );
}

// --- round trip and import -------------------------------------------------------

fn reference_export(state: &State, now: DateTime<Utc>) -> Value {
    let mut req = ExportRequest::all(now);
    req.kinds = vec![
        ResourceKind::Organization,
        ResourceKind::Location,
        ResourceKind::HealthcareService,
        ResourceKind::Schedule,
    ];
    fhir::export_bundle(state, &req).unwrap()
}

fn run_as_admin(commands: &[Command], at: DateTime<Utc>) -> Engine {
    let mut e = Engine::new();
    for (i, c) in commands.iter().enumerate() {
        e.execute(Request {
            actor: enlace_core::synth::admin(),
            at,
            key: None,
            command: c.clone(),
        })
        .unwrap_or_else(|err| panic!("command {i} {}: {err}", c.name()));
    }
    e
}

#[test]
fn round_trip_reproduces_facilities_services_and_agendas() {
    let s = world();
    let state = s.engine.state();
    let bundle = reference_export(state, s.now);
    let out = import_bundle(&bundle, &ImportOptions::default());
    assert!(out.is_clean(), "{:#?}", out.problems);
    assert!(out.ignored.is_empty());
    let mut services: Vec<Service> = out
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::DefineService { service } => Some(service.clone()),
            _ => None,
        })
        .collect();
    services.sort_by(|a, b| a.code.cmp(&b.code));
    let facilities: Vec<Facility> = out
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::RegisterFacility { facility } => Some(facility.clone()),
            _ => None,
        })
        .collect();
    let agendas: Vec<AgendaConfig> = out
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::DefineAgenda { agenda } => Some(agenda.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(services, state.services().cloned().collect::<Vec<_>>());
    assert_eq!(facilities, state.facilities());
    assert_eq!(
        agendas,
        state
            .agendas()
            .map(|a| a.config.clone())
            .collect::<Vec<_>>()
    );
    // The commands run, and the new network exports the same resources.
    let copy = run_as_admin(&out.commands, s.spec.start);
    assert_eq!(reference_export(copy.state(), s.now), bundle);
}

fn problems_of(
    out: &enlace_core::interop::fhir_import::ImportResult,
    rt: &str,
    id: &str,
) -> Vec<String> {
    out.problems
        .iter()
        .filter(|p| p.resource == rt && p.id == id)
        .map(|p| p.problem.clone())
        .collect()
}

#[test]
fn import_reports_what_it_cannot_map() {
    let org = json!({"resourceType": "Organization", "id": "o1", "name": "Agency"});
    let good_loc = json!({
        "resourceType": "Location", "id": "L1", "name": "Clinic", "managingOrganization": {"reference": "Organization/o1"},
        "address": {"city": "Salto"}, "extension": [{"url": enlace_core::interop::EXTENSION_TIMEZONE, "valueCode": "America/Montevideo"}],
        "type": [{"coding": [{"system": enlace_core::interop::SYSTEM_TIER, "code": "1"}]}],
    });
    let hs = json!({
        "resourceType": "HealthcareService", "id": "H1", "location": [{"reference": "Location/L1"}],
        "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "394585009", "display": "Obstetrics and gynaecology"}]}],
        "availableTime": [{"daysOfWeek": ["mon", "wed"], "availableStartTime": "08:00:00", "availableEndTime": "12:00:00"}],
    });
    let sched = json!({
        "resourceType": "Schedule", "id": "S1", "actor": [{"reference": "Location/L1"}, {"reference": "Practitioner/p9", "display": "Dr. Ana Ruiz"}],
        "serviceType": [{"coding": [{"code": "394585009"}]}], "planningHorizon": {"start": "2026-04-01T00:00:00Z"},
    });
    let mut bad_tz = good_loc.clone();
    bad_tz["id"] = json!("L2");
    bad_tz["extension"][0]["valueCode"] = json!("Mars/Olympus_Mons");
    let mut no_org = good_loc.clone();
    no_org["id"] = json!("L3");
    no_org["managingOrganization"] = json!({"reference": "Organization/missing"});
    no_org["type"] =
        json!([{"coding": [{"system": enlace_core::interop::SYSTEM_TIER, "code": "7"}]}]);
    let kind =
        json!({"resourceType": "Location", "id": "L4", "mode": "kind", "name": "Pharmacies"});
    let mut bad_sched = sched.clone();
    bad_sched["id"] = json!("S2");
    bad_sched["actor"] = json!([{"reference": "Location/L2"}]);
    let mut overlap = sched.clone();
    overlap["id"] = json!("S3");
    overlap["extension"] = json!([
        {"url": "urn:enlace:fhir:agenda-rule", "extension": [{"url": "day", "valueCode": "mon"}, {"url": "start", "valueTime": "08:00:00"}, {"url": "end", "valueTime": "12:00:00"}]},
        {"url": "urn:enlace:fhir:agenda-rule", "extension": [{"url": "day", "valueCode": "mon"}, {"url": "start", "valueTime": "11:00:00"}, {"url": "end", "valueTime": "13:00:00"}]},
    ]);
    let mut no_horizon = sched.clone();
    no_horizon["id"] = json!("S4");
    no_horizon
        .as_object_mut()
        .unwrap()
        .remove("planningHorizon");
    let patient = json!({"resourceType": "Patient", "id": "pat"});
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": org}, {"resource": good_loc}, {"resource": hs.clone()}, {"resource": sched},
        {"resource": bad_tz}, {"resource": no_org}, {"resource": kind}, {"resource": bad_sched},
        {"resource": overlap}, {"resource": no_horizon}, {"resource": patient}, {"request": {"method": "GET"}},
    ]});

    // Strict: the service has no slot length.
    let strict = import_bundle(&bundle, &ImportOptions::default());
    assert!(
        problems_of(&strict, "HealthcareService", "H1")[0].contains("slot length"),
        "{:#?}",
        strict.problems
    );

    let options = ImportOptions {
        default_slot_minutes: Some(20),
        ..ImportOptions::default()
    };
    let out = import_bundle(&bundle, &options);
    assert_eq!(out.ignored, ["Patient/pat"]);
    assert!(
        problems_of(&out, "Location", "L2")[0].contains("unknown time zone \"Mars/Olympus_Mons\"")
    );
    let l3 = problems_of(&out, "Location", "L3");
    assert!(
        l3.iter()
            .any(|p| p.contains("Organization/missing is not in the bundle")),
        "{l3:?}"
    );
    assert!(l3.iter().any(|p| p.contains("tier code \"7\"")), "{l3:?}");
    assert!(problems_of(&out, "Location", "L4")[0].contains("mode is kind"));
    assert!(problems_of(&out, "Schedule", "S2")[0].contains("Location/L2 could not be imported"));
    assert!(
        problems_of(&out, "Schedule", "S3")[0].contains("overlaps"),
        "{:?}",
        problems_of(&out, "Schedule", "S3")
    );
    assert!(problems_of(&out, "Schedule", "S4")[0].contains("planningHorizon.start"));
    assert!(problems_of(&out, "Bundle", "entry[11]")[0].contains("no resource"));
    // What maps does: the service, the clinic, and its agenda from availableTime.
    let names: Vec<&str> = out.commands.iter().map(Command::name).collect();
    assert_eq!(
        names,
        ["define_service", "register_facility", "define_agenda"]
    );
    let Command::DefineAgenda { agenda } = &out.commands[2] else {
        unreachable!()
    };
    assert_eq!(agenda.id, "S1");
    assert_eq!(agenda.facility, "L1");
    assert_eq!(agenda.service, "394585009");
    assert_eq!(agenda.practitioner.as_deref(), Some("Dr. Ana Ruiz"));
    assert_eq!(agenda.rules.len(), 2);
    assert_eq!(agenda.valid_from.to_string(), "2026-04-01");
    run_as_admin(&out.commands, "2026-03-01T00:00:00Z".parse().unwrap());

    // Not a resource at all, or a resource alone.
    for input in [
        json!(null),
        json!([1, 2]),
        json!("Bundle"),
        json!({"entry": []}),
        json!({"resourceType": "Bundle", "entry": 3}),
    ] {
        let out = import_bundle(&input, &ImportOptions::default());
        assert!(
            out.commands.is_empty() && !out.problems.is_empty(),
            "{input}"
        );
    }
    let alone = import_bundle(&hs, &options);
    assert_eq!(alone.commands.len(), 1, "{:?}", alone.problems);
    assert!(
        alone.problems[0]
            .problem
            .contains("Location/L1 is not in the bundle")
    );
}

/// A JSON value of bounded size and depth.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "Bundle",
            "Location",
            "Schedule",
            "HealthcareService",
            "Organization",
            "Location/L",
            "Organization/O",
            "HealthcareService/H",
            "mon",
            "08:00:00",
            "2026-01-01",
            "urn:enlace:fhir:agenda-rule",
            "day",
            "start",
            "end",
            "urn:enlace:fhir:slot-minutes",
            "America/Lima",
            "",
            "\u{0}",
            "ñ/ü",
        ])
        .prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "resourceType",
                    "id",
                    "entry",
                    "resource",
                    "fullUrl",
                    "reference",
                    "extension",
                    "url",
                    "valueCode",
                    "valueTime",
                    "valuePositiveInt",
                    "valueUnsignedInt",
                    "location",
                    "actor",
                    "type",
                    "coding",
                    "code",
                    "system",
                    "name",
                    "availableTime",
                    "daysOfWeek",
                    "availableStartTime",
                    "availableEndTime",
                    "allDay",
                    "planningHorizon",
                    "managingOrganization",
                    "address",
                    "city",
                    "identifier",
                    "value",
                    "mode",
                    "status",
                ]),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// The number of values in a JSON tree.
fn nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(nodes).sum(),
        Value::Object(map) => map.values().map(nodes).sum(),
        _ => 0,
    }
}

/// Removes or replaces the `n`-th value (depth first) of a JSON tree.
fn mutate(v: &mut Value, n: &mut usize, with: &Value) -> bool {
    if *n == 0 {
        *v = with.clone();
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(items) => items.iter_mut().any(|x| mutate(x, n, with)),
        Value::Object(map) => map.values_mut().any(|x| mutate(x, n, with)),
        _ => false,
    }
}

fn small_reference_bundle() -> &'static Value {
    static B: OnceLock<Value> = OnceLock::new();
    B.get_or_init(|| {
        let s = world();
        let mut req = ExportRequest::all(s.now);
        req.kinds = vec![
            ResourceKind::Organization,
            ResourceKind::Location,
            ResourceKind::HealthcareService,
            ResourceKind::Schedule,
        ];
        req.facilities = vec!["F0001".into(), "F0004".into()];
        fhir::export_bundle(s.engine.state(), &req).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Any JSON at all: no panic.
    #[test]
    fn import_never_panics(input in arb_json()) {
        let _ = import_bundle(&input, &ImportOptions::default());
        let _ = import_bundle(&json!({"resourceType": "Bundle", "entry": [{"resource": input}]}), &ImportOptions::default());
    }

    /// A real export with one value replaced: no panic, and whatever
    /// commands come out, the engine accepts them as they are.
    #[test]
    fn imported_commands_always_run(at in any::<prop::sample::Index>(), with in arb_json()) {
        let mut bundle = small_reference_bundle().clone();
        let mut n = at.index(nodes(&bundle));
        mutate(&mut bundle, &mut n, &with);
        let options = ImportOptions { default_slot_minutes: Some(15), default_time_zone: Some("America/Lima".into()), ..ImportOptions::default() };
        let out = import_bundle(&bundle, &options);
        let mut e = Engine::new();
        for c in &out.commands {
            let r = e.execute(Request { actor: enlace_core::synth::admin(), at: "2026-03-02T12:00:00Z".parse().unwrap(), key: None, command: c.clone() });
            prop_assert!(r.is_ok(), "{} refused: {:?}\n{:#?}", c.name(), r.err(), out.problems);
        }
    }
}

// --- search ----------------------------------------------------------------------

#[test]
fn searches_filter_like_fhir_servers() {
    let s = world();
    let state = s.engine.state();
    let c = ctx(s);
    // Appointment?patient=&date=ge&date=le&status=
    let patient = format!(
        "Patient/{}",
        fhir::patient_id(&enlace_core::synth::beneficiary_id(0))
    );
    let all_b0 = search(state, "Appointment", &params(&[("patient", &patient)]), &c).unwrap();
    assert_eq!(all_b0["total"], 2, "referral appointment and follow-up");
    let fulfilled = search(
        state,
        "Appointment",
        &params(&[("patient", &patient), ("status", "fulfilled")]),
        &c,
    )
    .unwrap();
    assert_eq!(
        ids(&fulfilled),
        [fhir::appointment_id(s.appointments["fulfilled"])]
    );
    let start = state
        .appointment_view(s.appointments["follow_up"])
        .unwrap()
        .start;
    let at = start.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let exact = search(
        state,
        "Appointment",
        &params(&[
            ("patient", &patient),
            ("date", &format!("ge{at}")),
            ("date", &format!("le{at}")),
        ]),
        &c,
    )
    .unwrap();
    assert_eq!(
        ids(&exact),
        [fhir::appointment_id(s.appointments["follow_up"])]
    );
    // A date without a time covers the whole (UTC) day.
    let day = start.format("%Y-%m-%d").to_string();
    let on_day = search(state, "Appointment", &params(&[("date", &day)]), &c).unwrap();
    let expected: Vec<String> = state
        .appointment_views()
        .filter(|a| a.start.date_naive() == start.date_naive())
        .map(|a| fhir::appointment_id(a.id))
        .collect();
    assert!(expected.len() >= 2);
    assert_eq!(ids(&on_day), expected);
    assert!(
        on_day["entry"][0]["fullUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://enlace.test/fhir/Appointment/")
    );
    let several = search(
        state,
        "Appointment",
        &params(&[("status", "noshow,cancelled")]),
        &c,
    )
    .unwrap();
    assert!(several["total"].as_u64().unwrap() >= 4);
    // Slot?schedule=&start=ge&status=free
    let (from, _) = s.window;
    let ge = format!("ge{}", from.format("%Y-%m-%dT%H:%M:%SZ"));
    let free = search(
        state,
        "Slot",
        &params(&[
            ("schedule", "Schedule/agenda-F0004-A01"),
            ("start", &ge),
            ("status", "free"),
            ("_count", "5"),
        ]),
        &c,
    )
    .unwrap();
    assert_eq!(free["entry"].as_array().unwrap().len(), 5);
    assert!(free["total"].as_u64().unwrap() > 5);
    assert!(
        free["entry"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["resource"]["status"] == "free")
    );
    // Schedule?actor=
    let sched = search(
        state,
        "Schedule",
        &params(&[("actor", "Location/facility-F0004")]),
        &c,
    )
    .unwrap();
    assert_eq!(
        ids(&sched),
        ["agenda-F0004-A01", "agenda-F0004-A02", "agenda-F0004-A03"]
    );
    // ServiceRequest?status=&priority=
    let sr = search(
        state,
        "ServiceRequest",
        &params(&[("status", "active"), ("priority", "asap")]),
        &c,
    )
    .unwrap();
    assert_eq!(sr["total"], 3, "no-show, escalated and requested are open");
    // Task?owner=&status=
    let tasks = search(
        state,
        "Task",
        &params(&[
            ("owner", "HealthcareService/service-F0004.obs-hr"),
            ("status", "rejected,cancelled"),
        ]),
        &c,
    )
    .unwrap();
    assert_eq!(
        ids(&tasks),
        [
            fhir::referral_id(s.referrals["declined"]),
            fhir::referral_id(s.referrals["cancelled"])
        ]
    );
    let no_show = search(
        state,
        "Task",
        &params(&[("business-status", "no-show")]),
        &c,
    )
    .unwrap();
    assert_eq!(ids(&no_show), [fhir::referral_id(s.referrals["no_show"])]);
    // Patient?identifier=system|value
    let id = format!(
        "{}|{}",
        enlace_core::interop::SYSTEM_NATIONAL_ID,
        enlace_core::synth::beneficiary_id(3)
    );
    assert_eq!(
        search(state, "Patient", &params(&[("identifier", &id)]), &c).unwrap()["total"],
        1
    );
    // Errors are clear.
    let err = search(state, "Appointment", &params(&[("practitioner", "x")]), &c).unwrap_err();
    assert_eq!(err.code(), "unsupported_parameter");
    assert_eq!(
        search(state, "Observation", &[], &c).unwrap_err().code(),
        "unsupported_resource_type"
    );
    assert_eq!(
        search(state, "Appointment", &params(&[("date", "sometime")]), &c)
            .unwrap_err()
            .code(),
        "invalid_parameter"
    );
    // Read by id.
    let task = read(
        state,
        "Task",
        &fhir::referral_id(s.referrals["completed"]),
        &c,
    )
    .unwrap();
    assert_eq!(task["status"], "completed");
    assert_eq!(
        read(state, "Location", "facility-F0002", &c).unwrap()["name"],
        "Unidad de Medicina Rural 2"
    );
    assert_eq!(
        read(state, "Task", "referral-999", &c).unwrap_err().code(),
        "not_found"
    );
    assert_eq!(
        read(state, "Appointment", "waitlist-1", &c).unwrap()["status"],
        "waitlist"
    );
    // The capability statement lists what search supports.
    let cap = enlace_core::interop::capability_statement(&c);
    assert_eq!(cap["fhirVersion"], "4.0.1");
    let appt = cap["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Appointment")
        .unwrap();
    let names: Vec<&str> = appt["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in ["patient", "date", "status"] {
        assert!(names.contains(&p));
    }
}

// --- iCalendar -------------------------------------------------------------------

/// Checks CRLF and folding, and returns the unfolded content lines.
fn unfold_checked(ics: &str) -> Vec<String> {
    assert!(ics.ends_with("\r\n"));
    let body = ics.strip_suffix("\r\n").unwrap();
    assert!(
        !body.replace("\r\n", "").contains('\n') && !body.replace("\r\n", "").contains('\r'),
        "bare CR or LF"
    );
    let mut lines: Vec<String> = Vec::new();
    for physical in body.split("\r\n") {
        assert!(
            physical.len() <= 75,
            "{} octets: {physical}",
            physical.len()
        );
        match physical.strip_prefix(' ') {
            Some(rest) => lines
                .last_mut()
                .expect("a continuation after a line")
                .push_str(rest),
            None => lines.push(physical.to_owned()),
        }
    }
    lines
}

fn prop<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    lines.iter().filter_map(|l| l.strip_prefix(name)).collect()
}

/// DTSTART or DTEND as an instant, reading TZID times like RFC 5545 does
/// (an ambiguous local time is its first occurrence).
fn instant_of(value: &str) -> DateTime<Utc> {
    if let Some(utc) = value.strip_prefix(':') {
        return Utc
            .from_utc_datetime(&NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%SZ").unwrap());
    }
    let rest = value.strip_prefix(";TZID=").unwrap();
    let (tz, local) = rest.split_once(':').unwrap();
    let tz: chrono_tz::Tz = tz.parse().unwrap();
    let naive = NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S").unwrap();
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => panic!("{local} does not exist in {tz}"),
    }
}

fn events(lines: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<String>> = None;
    for l in lines {
        match l.as_str() {
            "BEGIN:VEVENT" => cur = Some(Vec::new()),
            "END:VEVENT" => out.push(cur.take().unwrap()),
            _ => {
                if let Some(c) = cur.as_mut() {
                    c.push(l.clone());
                }
            }
        }
    }
    out
}

#[test]
fn ical_events_are_folded_crlf_and_end_after_they_start() {
    let s = world();
    let state = s.engine.state();
    let stamp: DateTime<Utc> = "2026-03-05T10:00:00Z".parse().unwrap();
    let b0 = enlace_core::synth::beneficiary_id(0);
    let cal = ical::beneficiary_calendar(state, &b0, stamp).unwrap();
    let lines = unfold_checked(&cal);
    assert_eq!(lines.first().unwrap(), "BEGIN:VCALENDAR");
    assert_eq!(lines.last().unwrap(), "END:VCALENDAR");
    assert!(lines.contains(&"BEGIN:VTIMEZONE".to_owned()));
    let evs = events(&lines);
    assert_eq!(evs.len(), 2);
    for e in &evs {
        let start = instant_of(prop(e, "DTSTART")[0]);
        let end = instant_of(prop(e, "DTEND")[0]);
        assert!(end > start, "{e:?}");
        assert_eq!(prop(e, "DTSTAMP:"), ["20260305T100000Z"]);
    }
    // The same instants as the engine's.
    let a = state.appointment_view(s.appointments["fulfilled"]).unwrap();
    let e = evs
        .iter()
        .find(|e| prop(e, "UID:") == [ical::uid(state, a.id).as_str()])
        .unwrap();
    assert_eq!(instant_of(prop(e, "DTSTART")[0]), a.start);
    assert_eq!(instant_of(prop(e, "DTEND")[0]), a.end);
    assert!(prop(e, "DTSTART")[0].starts_with(";TZID=America/Asuncion:"));
    assert_eq!(prop(e, "STATUS:"), ["CONFIRMED"]);
    assert_eq!(prop(e, "SEQUENCE:"), ["2"], "booked, arrived, fulfilled");
}

#[test]
fn ical_uid_is_stable_across_reschedules_and_sequence_grows() {
    let s = world();
    let state = s.engine.state();
    let stamp: DateTime<Utc> = "2026-03-05T10:00:00Z".parse().unwrap();
    let first = s.appointments["rescheduled_from"];
    let second = s.appointments["rescheduled_to"];
    assert_eq!(ical::uid(state, first), ical::uid(state, second));
    assert_eq!(
        ical::uid(state, first),
        format!("appointment-{first}@enlace")
    );
    assert_eq!(
        (ical::sequence(state, first), ical::sequence(state, second)),
        (0, 1)
    );
    // Either id gives the current event: the new time, one reschedule later.
    for id in [first, second] {
        let lines = unfold_checked(&ical::appointment_calendar(state, id, stamp).unwrap());
        let evs = events(&lines);
        assert_eq!(evs.len(), 1);
        assert_eq!(
            instant_of(prop(&evs[0], "DTSTART")[0]),
            state.appointment_view(second).unwrap().start
        );
        assert_eq!(prop(&evs[0], "SEQUENCE:"), ["1"]);
        assert_eq!(prop(&evs[0], "STATUS:"), ["CONFIRMED"]);
    }
    let cancelled = events(&unfold_checked(
        &ical::appointment_calendar(state, s.appointments["cancelled"], stamp).unwrap(),
    ));
    assert_eq!(prop(&cancelled[0], "STATUS:"), ["CANCELLED"]);
    assert_eq!(prop(&cancelled[0], "SEQUENCE:"), ["1"]);
    // The feed of the clinic's agenda shows each chain once.
    let a = state.appointment_view(second).unwrap();
    let feed = ical::agenda_feed(state, &a.agenda, s.window.0, s.window.1, stamp).unwrap();
    let evs = events(&unfold_checked(&feed));
    let uids: Vec<&str> = evs.iter().map(|e| prop(e, "UID:")[0]).collect();
    let unique: BTreeSet<&&str> = uids.iter().collect();
    assert_eq!(uids.len(), unique.len());
    assert!(uids.contains(&ical::uid(state, first).as_str()));
    assert!(ical::agenda_feed(state, "nope", s.window.0, s.window.1, stamp).is_err());
    assert!(ical::facility_feed(state, "F0001", s.window.1, s.window.0, stamp).is_err());
}

#[test]
fn folding_never_splits_a_character() {
    for text in [
        "ñ".repeat(200),
        "日本語のテキスト".repeat(20),
        "a🙂".repeat(60),
        "x".repeat(75),
        "y".repeat(76),
        String::new(),
    ] {
        let mut out = String::new();
        ical::fold(&format!("DESCRIPTION:{}", ical::escape(&text)), &mut out);
        let lines = unfold_checked(&out);
        assert_eq!(lines, [format!("DESCRIPTION:{}", ical::escape(&text))]);
    }
    assert_eq!(ical::escape("a,b;c\\d\ne\u{7}"), "a\\,b\\;c\\\\d\\ne");
}

/// An agenda in a zone whose clocks fall back in the middle of its hours:
/// a slot that starts before the change and ends after it must not end,
/// in the calendar, before it starts.
#[test]
fn ical_handles_the_fall_back_hour() {
    let admin = enlace_core::synth::admin();
    let at: DateTime<Utc> = "2026-10-01T12:00:00Z".parse().unwrap();
    let mut e = Engine::new();
    let mut run = |command| {
        e.execute(Request {
            actor: admin.clone(),
            at,
            key: None,
            command,
        })
        .unwrap()
    };
    run(Command::DefineService {
        service: Service {
            code: "night".into(),
            name: "Night clinic".into(),
            slot_minutes: 45,
        },
    });
    run(Command::RegisterFacility {
        facility: Facility {
            id: "TIJ".into(),
            name: "Hospital General de Tijuana".into(),
            agency: "imss".into(),
            tier: Tier::Second,
            region: "Baja California".into(),
            time_zone: "America/Tijuana".into(),
            services: vec!["night".into()],
        },
    });
    let t = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    run(Command::DefineAgenda {
        agenda: AgendaConfig {
            id: "TIJ-N".into(),
            facility: "TIJ".into(),
            service: "night".into(),
            practitioner: None,
            rules: vec![WeeklyBlock {
                day: chrono::Weekday::Sun,
                start: t(0, 0),
                end: t(3, 0),
            }],
            valid_from: "2026-10-01".parse().unwrap(),
            valid_to: None,
            slot_minutes: None,
            capacity: 1,
            overbooking: 0,
            horizon_days: 60,
            min_notice_minutes: 0,
            referral_share_percent: 0,
        },
    });
    run(Command::RegisterBeneficiary {
        beneficiary: enlace_core::beneficiary::Beneficiary {
            id: "MX-1".into(),
            name: "Lucía Gómez".into(),
            birth_date: "1990-01-01".parse().unwrap(),
            sex: enlace_core::beneficiary::Sex::Female,
            contact: None,
            coverage: vec![enlace_core::beneficiary::Coverage {
                programme: "imss".into(),
                agency: "imss".into(),
                valid_from: "2020-01-01".parse().unwrap(),
                valid_to: None,
            }],
        },
    });
    // 01:30 local on 1 November 2026 happens twice; the slot is the first
    // (08:30 UTC) and ends at 09:15 UTC, which is 01:15 local the second time.
    let start: DateTime<Utc> = "2026-11-01T08:30:00Z".parse().unwrap();
    let clerk = Actor::new("clerk", "imss", Some("TIJ"), Role::Clerk);
    e.execute(Request {
        actor: clerk,
        at,
        key: None,
        command: Command::BookAppointment {
            agenda: "TIJ-N".into(),
            start,
            beneficiary: "MX-1".into(),
            follow_up_of: None,
            overbook: false,
        },
    })
    .unwrap();
    let ics = ical::beneficiary_calendar(e.state(), "MX-1", at).unwrap();
    let lines = unfold_checked(&ics);
    let ev = &events(&lines)[0];
    let s = instant_of(prop(ev, "DTSTART")[0]);
    let end = instant_of(prop(ev, "DTEND")[0]);
    assert_eq!(s, start);
    assert_eq!(end, start + Duration::minutes(45));
    // The VTIMEZONE describes the change: -0700 to -0800 at 02:00 local.
    let change = [
        "BEGIN:STANDARD",
        "DTSTART:20261101T020000",
        "TZOFFSETFROM:-0700",
        "TZOFFSETTO:-0800",
    ];
    assert!(lines.windows(4).any(|w| w == change), "{lines:#?}");
    // And the agenda's slots on that day: 00:00, 00:45, 01:30, 02:15 local.
    let q = Query::AgendaView {
        agenda: "TIJ-N".into(),
        from: "2026-11-01".parse().unwrap(),
        days: 1,
    };
    let ans = e.query(&enlace_core::synth::admin(), &q, at).unwrap();
    let enlace_core::Answer::AgendaView(days) = ans else {
        panic!()
    };
    assert_eq!(days[0].slots.len(), 4);
}
