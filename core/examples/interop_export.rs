//! Writes what the FHIR and iCalendar exports produce for the whole
//! referral loop, for validators nobody on the team wrote
//! (tests/interop/validate.sh):
//!
//! ```text
//! cargo run -p enlace-core --example interop_export -- OUTDIR
//! ```
//!
//! `OUTDIR/fhir/*.json`: every resource the export produces (one per file;
//! slots: those of a few agendas and days, with every status), Bundles
//! (collection and searchsets), the CapabilityStatement and an
//! OperationOutcome. `OUTDIR/ics/*.ics`: calendars and feeds.

#[path = "../tests/common/interop_scenario.rs"]
mod scenario;

use chrono::Duration;
use enlace_core::interop::fhir::{self, ExportRequest, ResourceKind, Window};
use enlace_core::interop::{SearchContext, capability_statement, ical, search};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("writing {name}: {e}"));
}

fn write_json(dir: &Path, name: &str, v: &Value) {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    write(dir, name, &text);
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/interop-out".into());
    let out = Path::new(&out);
    let fhir_dir = out.join("fhir");
    let ics_dir = out.join("ics");
    for d in [&fhir_dir, &ics_dir] {
        // Start clean so files of an earlier run are never validated again.
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("creating {}: {e}", d.display()));
    }
    let s = scenario::build();
    let state = s.engine.state();
    let window = Window {
        start: s.window.0,
        end: s.window.1,
    };
    let ctx = SearchContext {
        now: s.now,
        base_url: Some("https://enlace.example.org/fhir".into()),
        national_id_system: None,
    };

    // Every resource but slots, one file each.
    let mut req = ExportRequest::all(s.now);
    req.kinds = ResourceKind::ALL
        .into_iter()
        .filter(|k| *k != ResourceKind::Slot)
        .collect();
    let resources = fhir::export_resources(state, &req).expect("export");
    let mut kinds = BTreeSet::new();
    let mut files = 0;
    for r in &resources {
        let rt = r["resourceType"].as_str().unwrap_or_default();
        kinds.insert(rt.to_owned());
        write_json(
            &fhir_dir,
            &format!("{rt}-{}.json", r["id"].as_str().unwrap_or_default()),
            r,
        );
        files += 1;
    }
    // Slots: every one that is not free in the window for two agendas, and
    // the first free ones.
    let mut free = 0;
    for agenda in ["F0001-A01", "F0004-A01"] {
        for slot in state
            .agenda_slots(agenda, window.start, window.end)
            .unwrap_or_default()
        {
            let info = state.agenda_info(agenda).expect("agenda");
            let r = fhir::slot(state, info.config, &slot);
            if r["status"] == "free" {
                free += 1;
                if free > 6 {
                    continue;
                }
            }
            kinds.insert("Slot".into());
            write_json(
                &fhir_dir,
                &format!("Slot-{}.json", r["id"].as_str().unwrap_or_default()),
                &r,
            );
            files += 1;
        }
    }
    // A collection Bundle with everything for three facilities, slots included.
    let mut req = ExportRequest::all(s.now);
    req.window = Some(Window {
        start: s.window.0,
        end: s.window.0 + Duration::days(4),
    });
    req.facilities = vec!["F0001".into(), "F0004".into(), "F0005".into()];
    req.base_url = ctx.base_url.clone();
    write_json(
        &fhir_dir,
        "Bundle-collection.json",
        &fhir::export_bundle(state, &req).expect("bundle"),
    );
    // The searches the host serves.
    let p = |list: &[(&str, String)]| {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<Vec<_>>()
    };
    let b0 = format!(
        "Patient/{}",
        fhir::patient_id(&enlace_core::synth::beneficiary_id(0))
    );
    let ge = format!("ge{}", s.window.0.format("%Y-%m-%d"));
    let le = format!("le{}", s.window.1.format("%Y-%m-%d"));
    let searches = [
        (
            "Appointment",
            p(&[
                ("patient", b0.clone()),
                ("date", ge.clone()),
                ("date", le.clone()),
                ("status", "booked,fulfilled".into()),
            ]),
        ),
        (
            "Slot",
            p(&[
                ("schedule", "Schedule/agenda-F0004-A01".into()),
                ("start", ge.clone()),
                ("status", "free".into()),
                ("_count", "10".into()),
            ]),
        ),
        (
            "Schedule",
            p(&[("actor", "Location/facility-F0004".into())]),
        ),
        (
            "ServiceRequest",
            p(&[("status", "active".into()), ("priority", "asap".into())]),
        ),
        (
            "Task",
            p(&[
                ("owner", "HealthcareService/service-F0004.obs-hr".into()),
                ("status", "rejected,cancelled,completed".into()),
            ]),
        ),
    ];
    for (rt, params) in &searches {
        let b = search(state, rt, params, &ctx).unwrap_or_else(|e| panic!("search {rt}: {e}"));
        write_json(&fhir_dir, &format!("Bundle-search-{rt}.json",), &b);
    }
    write_json(
        &fhir_dir,
        "CapabilityStatement-instance.json",
        &capability_statement(&ctx),
    );
    let software = SearchContext {
        base_url: None,
        ..ctx.clone()
    };
    write_json(
        &fhir_dir,
        "CapabilityStatement-software.json",
        &capability_statement(&software),
    );
    let err = search(
        state,
        "Appointment",
        &p(&[("practitioner", "x".into())]),
        &ctx,
    )
    .unwrap_err();
    write_json(
        &fhir_dir,
        "OperationOutcome-unsupported-parameter.json",
        &err.operation_outcome(),
    );
    files += searches.len() + 4;

    // iCalendar.
    let stamp = s.now;
    let mut ics = 0;
    let mut names: Vec<_> = s.appointments.iter().collect();
    names.sort();
    for (name, id) in names {
        write(
            &ics_dir,
            &format!("appointment-{name}.ics"),
            &ical::appointment_calendar(state, *id, stamp).expect("appointment"),
        );
        ics += 1;
    }
    for i in [0, 1, 6, 7, 13] {
        let b = enlace_core::synth::beneficiary_id(i);
        write(
            &ics_dir,
            &format!("beneficiary-{b}.ics"),
            &ical::beneficiary_calendar(state, &b, stamp).expect("beneficiary"),
        );
        ics += 1;
    }
    write(
        &ics_dir,
        "agenda-F0004-A01.ics",
        &ical::agenda_feed(state, "F0004-A01", s.window.0, s.window.1, stamp).expect("feed"),
    );
    write(
        &ics_dir,
        "facility-F0001.ics",
        &ical::facility_feed(state, "F0001", s.window.0, s.window.1, stamp).expect("feed"),
    );
    write(
        &ics_dir,
        "facility-F0002.ics",
        &ical::facility_feed(
            state,
            "F0002",
            s.window.0,
            s.window.0 + Duration::days(60),
            stamp,
        )
        .expect("feed"),
    );
    ics += 3;

    let expected: BTreeSet<String> = ResourceKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    assert_eq!(kinds, expected, "every kind of resource is written");
    println!(
        "interop_export: {files} FHIR files ({} resource kinds) in {}, {ics} iCalendar files in {}",
        kinds.len(),
        fhir_dir.display(),
        ics_dir.display()
    );
}
