//! The year bound of input dates (issue 14): every date or instant in a
//! command or a query, wherever it sits, is refused outside
//! `enlace_core::error::YEARS` with `invalid_input`, rule
//! `year_out_of_range` and the field's path, and nothing changes.
//!
//! The corpus is every command and query of the demo network's reference
//! data and of the shared scenarios (tests/scenarios), plus one of each
//! dated kind: a date field that `Command::check_years` or
//! `Query::check_years` forgets fails here as soon as any of them uses it.

use chrono::{DateTime, NaiveDate, Utc};
use enlace_core::error::YEARS;
use enlace_core::synth::{self, Spec};
use enlace_core::{Command, Engine, Query, Request};
use serde_json::{Value, json};

fn demo() -> Engine {
    let mut e = Engine::new();
    for r in synth::reference(&Spec::demo()) {
        e.execute(r).expect("reference data");
    }
    e
}

/// Every command and query of the scenarios, as JSON.
fn scenario_inputs() -> (Vec<Value>, Vec<Value>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    let (mut commands, mut queries) = (Vec::new(), Vec::new());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scenarios")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p.to_string_lossy().ends_with(".expected.json")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for step in doc["steps"].as_array().unwrap() {
            if let Some(c) = step.get("command") {
                commands.push(c.clone());
            }
            if let Some(q) = step.get("query") {
                queries.push(q.clone());
            }
        }
    }
    (commands, queries)
}

/// One of each command and query that holds a date, in case no scenario
/// uses it.
fn samples() -> (Vec<Value>, Vec<Value>) {
    let commands = vec![
        json!({"type": "add_closure", "agenda": "F0001-A01",
               "closure": {"date": "2026-03-04", "reason": "x"}}),
        json!({"type": "declare_holiday", "date": "2026-03-04", "name": "x"}),
        json!({"type": "set_coverage", "beneficiary": "MX-10000000", "coverage": [
            {"programme": "p", "agency": "imss", "valid_from": "2026-01-01", "valid_to": "2026-12-31"}]}),
        json!({"type": "reschedule_appointment", "appointment": 1, "start": "2026-03-04T15:00:00Z"}),
        json!({"type": "schedule_referral", "referral": 1, "agenda": "F0004-A01",
               "start": "2026-03-04T15:00:00Z"}),
    ];
    let queries = vec![
        json!({"type": "free_slots", "service": "gp", "from": "2026-03-02T00:00:00Z",
               "to": "2026-03-09T00:00:00Z", "limit": 5}),
        json!({"type": "agenda_view", "agenda": "F0001-A01", "from": "2026-03-02", "days": 7}),
        json!({"type": "agenda_appointments", "agenda": "F0001-A01", "date": "2026-03-02"}),
        json!({"type": "utilization", "agenda": "F0001-A01", "from": "2026-03-02", "to": "2026-03-09"}),
        json!({"type": "breach_report", "facility": "F0004", "from": "2026-03-02T00:00:00Z",
               "to": "2026-03-09T00:00:00Z"}),
        json!({"type": "conditionality", "programme": "p", "service": "gp",
               "from": "2026-03-02", "to": "2026-03-09"}),
        json!({"type": "calendar", "of": "agenda", "id": "F0001-A01",
               "from": "2026-03-02T00:00:00Z", "to": "2026-03-09T00:00:00Z"}),
    ];
    (commands, queries)
}

/// The paths of every string in `v` that is a date or an RFC 3339
/// instant, as the engine names fields (`a.b[0].c`).
fn dates(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s)
            if s.parse::<NaiveDate>().is_ok() || s.parse::<DateTime<Utc>>().is_ok() =>
        {
            out.push(path.to_owned());
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                dates(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                dates(x, &p, out);
            }
        }
        _ => {}
    }
}

/// `v` with the year of the date at `path` set to `year`.
fn with_year(v: &Value, path: &str, year: i32) -> Value {
    let mut v = v.clone();
    let pointer: String = path
        .replace('[', ".")
        .replace(']', "")
        .split('.')
        .map(|p| format!("/{p}"))
        .collect();
    let s = v.pointer_mut(&pointer).expect("path");
    let old = s.as_str().unwrap().to_owned();
    *s = Value::String(format!("{year:04}{}", &old[4..]));
    v
}

fn corpus() -> (Vec<Value>, Vec<Value>) {
    let (mut commands, mut queries) = scenario_inputs();
    let (c, q) = samples();
    commands.extend(c);
    queries.extend(q);
    for r in synth::reference(&Spec::demo()) {
        commands.push(serde_json::to_value(&r.command).unwrap());
    }
    (commands, queries)
}

fn assert_year_refusal(err: enlace_core::Error, field: &str, what: &Value) {
    let d = err.details();
    assert_eq!(err.code(), "invalid_input", "{what}");
    assert_eq!(d["rule"], "year_out_of_range", "{what}");
    assert_eq!(d["field"], field, "{what}");
    assert_eq!(d["min"], YEARS.0.to_string());
    assert_eq!(d["max"], YEARS.1.to_string());
}

#[test]
fn every_date_of_every_command_is_bounded() {
    let mut e = demo();
    let head = e.state().head().to_owned();
    let admin = synth::admin();
    let at: DateTime<Utc> = "2026-03-02T13:00:00Z".parse().unwrap();
    let (commands, _) = corpus();
    let mut seen = std::collections::BTreeSet::new();
    for c in &commands {
        let mut paths = Vec::new();
        dates(c, "", &mut paths);
        for p in paths {
            for year in [YEARS.0 - 1, YEARS.1 + 1, 1, 9999] {
                let bad = with_year(c, &p, year);
                let Ok(command) = serde_json::from_value::<Command>(bad.clone()) else {
                    continue; // 29 February of a year that has none
                };
                seen.insert(format!("{}.{p}", command.name()));
                let err = e
                    .execute(Request {
                        actor: admin.clone(),
                        at,
                        key: None,
                        command,
                    })
                    .unwrap_err();
                assert_year_refusal(err, &p, &bad);
            }
        }
    }
    assert_eq!(e.state().head(), head, "a refusal changes nothing");
    // The corpus reaches every dated field of the command set.
    for f in [
        "add_closure.closure.date",
        "declare_holiday.date",
        "define_agenda.agenda.valid_from",
        "define_agreement.agreement.valid_from",
        "register_beneficiary.beneficiary.birth_date",
        "register_beneficiary.beneficiary.coverage[0].valid_from",
        "set_coverage.coverage[0].valid_to",
        "book_appointment.start",
        "reschedule_appointment.start",
        "schedule_referral.start",
    ] {
        assert!(seen.contains(f), "{f} not in the corpus: {seen:?}");
    }
}

#[test]
fn every_date_of_every_query_is_bounded() {
    let e = demo();
    let auditor = enlace_core::Actor {
        role: enlace_core::Role::Auditor,
        ..synth::admin()
    };
    let at: DateTime<Utc> = "2026-03-02T13:00:00Z".parse().unwrap();
    let (_, queries) = corpus();
    let mut kinds = std::collections::BTreeSet::new();
    for q in &queries {
        let mut paths = Vec::new();
        dates(q, "", &mut paths);
        for p in paths {
            for year in [YEARS.0 - 1, YEARS.1 + 1] {
                let bad = with_year(q, &p, year);
                let query: Query = serde_json::from_value(bad.clone()).unwrap();
                kinds.insert(bad["type"].as_str().unwrap().to_owned());
                let err = e.query(&auditor, &query, at).unwrap_err();
                assert_year_refusal(err, &p, &bad);
            }
        }
    }
    assert!(kinds.len() >= 7, "{kinds:?}");
}

#[test]
fn the_bound_years_themselves_are_accepted() {
    let e = demo();
    let at: DateTime<Utc> = "2026-03-02T13:00:00Z".parse().unwrap();
    for year in [YEARS.0, YEARS.1] {
        let q = json!({"type": "agenda_view", "agenda": "F0001-A01",
                       "from": format!("{year}-03-02"), "days": 1});
        let q: Query = serde_json::from_value(q).unwrap();
        assert!(e.query(&synth::admin(), &q, at).is_ok(), "{year}");
    }
}
