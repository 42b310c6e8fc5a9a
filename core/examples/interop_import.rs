//! Imports FHIR resources from files written elsewhere (the official HL7 R4
//! examples, in tests/interop/validate.sh) through the importer:
//!
//! ```text
//! cargo run -p enlace-core --example interop_import -- FILE.json...
//! ```
//!
//! All files go into one collection Bundle, so references between them
//! resolve. The bundle is imported twice: strictly (no defaults) and with
//! defaults for what foreign data never says (time zone, tier, region,
//! agency, slot length). For each run, the commands are executed on an
//! empty network, and every Organization, Location, HealthcareService and
//! Schedule must be accounted for: mapped to a command, or named by a
//! problem. It prints one line per file and `N passed, M failed`, and exits
//! non-zero on any failure (a panic is one).

use enlace_core::facility::Tier;
use enlace_core::interop::fhir_import::{ImportOptions, ImportResult, import_bundle};
use enlace_core::{Command, Engine, Request};
use serde_json::{Value, json};

struct Input {
    file: String,
    rt: String,
    id: String,
}

/// The Enlace ids a command creates from a resource of type `rt` with `id`.
fn made_by(commands: &[Command], rt: &str, id: &str) -> bool {
    commands.iter().any(|c| match (c, rt) {
        (Command::RegisterFacility { facility }, "Location") => facility.id == id,
        (Command::DefineAgenda { agenda }, "Schedule") => agenda.id == id,
        _ => false,
    })
}

fn run(
    bundle: &Value,
    options: &ImportOptions,
    inputs: &[Input],
    label: &str,
) -> (ImportResult, usize, usize) {
    let out = import_bundle(bundle, options);
    let (mut passed, mut failed) = (0, 0);
    // The commands run as they are.
    let mut engine = Engine::new();
    let at = "2026-03-02T12:00:00Z".parse().unwrap_or_default();
    for c in &out.commands {
        let req = Request {
            actor: enlace_core::synth::admin(),
            at,
            key: None,
            command: c.clone(),
        };
        if let Err(e) = engine.execute(req) {
            println!("FAIL [{label}] the engine refused {}: {e}", c.name());
            failed += 1;
        }
    }
    for i in inputs {
        let problems: Vec<&str> = out
            .problems
            .iter()
            .filter(|p| p.resource == i.rt && p.id == i.id)
            .map(|p| p.problem.as_str())
            .collect();
        let mapped = made_by(&out.commands, &i.rt, &i.id);
        // A HealthcareService maps to a service definition (and to the
        // services of its Location); an Organization only names an agency.
        let used = match i.rt.as_str() {
            "HealthcareService" | "Organization" => problems.is_empty(),
            _ => mapped,
        };
        if used && problems.is_empty() {
            println!("ok   [{label}] {}: mapped", i.file);
            passed += 1;
        } else if !used && !problems.is_empty() {
            println!(
                "ok   [{label}] {}: not mapped: {}",
                i.file,
                problems.join("; ")
            );
            passed += 1;
        } else if !used {
            println!("FAIL [{label}] {}: neither mapped nor explained", i.file);
            failed += 1;
        } else {
            println!(
                "FAIL [{label}] {}: mapped but also reported: {}",
                i.file,
                problems.join("; ")
            );
            failed += 1;
        }
    }
    (out, passed, failed)
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: interop_import FILE.json...");
        std::process::exit(2);
    }
    let mut entries = Vec::new();
    let mut inputs = Vec::new();
    let mut failed = 0;
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                println!("FAIL {f}: {e}");
                failed += 1;
                continue;
            }
        };
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                println!("FAIL {f}: not JSON: {e}");
                failed += 1;
                continue;
            }
        };
        let name = std::path::Path::new(f)
            .file_name()
            .map_or(f.clone(), |n| n.to_string_lossy().into_owned());
        inputs.push(Input {
            file: name,
            rt: v["resourceType"].as_str().unwrap_or_default().to_owned(),
            id: v["id"].as_str().unwrap_or_default().to_owned(),
        });
        entries.push(json!({"fullUrl": format!("http://hl7.org/fhir/{}/{}", v["resourceType"].as_str().unwrap_or_default(), v["id"].as_str().unwrap_or_default()), "resource": v}));
    }
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let (strict, p1, f1) = run(&bundle, &ImportOptions::default(), &inputs, "strict");
    let lenient_options = ImportOptions {
        default_time_zone: Some("America/Montevideo".into()),
        default_tier: Some(Tier::Second),
        default_region: Some("unknown".into()),
        default_agency: Some("imported".into()),
        default_slot_minutes: Some(20),
        default_horizon_days: None,
    };
    let (lenient, p2, f2) = run(&bundle, &lenient_options, &inputs, "defaults");
    let count =
        |r: &ImportResult, name: &str| r.commands.iter().filter(|c| c.name() == name).count();
    for (label, r) in [("strict", &strict), ("defaults", &lenient)] {
        println!(
            "[{label}] {} services, {} facilities, {} agendas, {} problems, {} ignored",
            count(r, "define_service"),
            count(r, "register_facility"),
            count(r, "define_agenda"),
            r.problems.len(),
            r.ignored.len()
        );
    }
    // Real-world data must map once the defaults say what it never does.
    let mut passed = p1 + p2;
    failed += f1 + f2;
    for name in ["define_service", "register_facility"] {
        if count(&lenient, name) == 0 {
            println!("FAIL [defaults] no {name} from the HL7 examples");
            failed += 1;
        } else {
            passed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
