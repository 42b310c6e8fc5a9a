//! Reads of personal data are recorded (issue 15): `enlace_core::disclosure`
//! names the beneficiaries an answer shows. Here, every answer of every
//! scenario, and of a sweep of queries by every demo actor over the
//! scenarios' final states (worklists, agendas, audit trails, FHIR,
//! calendars), is searched for every beneficiary id of the network: an id
//! that appears in an answer and is not disclosed is a read that would go
//! unrecorded.

use chrono::{DateTime, Utc};
use enlace_core::disclosure::{disclosed, disclosed_by_entries, subjects_of};
use enlace_core::synth::{self, Spec};
use enlace_core::{Actor, Answer, Engine, Query, Request};
use enlace_tests::{expand, load_all};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every beneficiary id registered in `engine`'s journal.
fn beneficiaries(engine: &Engine) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in engine.journal() {
        let v = serde_json::to_value(e).unwrap();
        collect(&v, &mut out);
    }
    out
}

fn collect(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some("beneficiary_registered")
                && let Some(id) = m["beneficiary"]["id"].as_str()
            {
                out.insert(id.to_owned());
            }
            m.values().for_each(|x| collect(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}

/// True when `id` occurs in `text` as a whole identifier (not as the start
/// of a longer one: MX-1000000 in MX-10000001).
fn occurs(text: &str, id: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    text.match_indices(id).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + id.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

fn answer_text(a: &Answer) -> String {
    match a {
        Answer::Fhir(t) | Answer::Calendar(t) => t.clone(),
        other => serde_json::to_string(other).unwrap(),
    }
}

/// Checks one answer; returns how many beneficiaries it showed.
fn check(q: &Query, a: &Answer, people: &BTreeSet<String>, context: &str) -> usize {
    let shown = disclosed(q, a);
    let text = answer_text(a);
    let mut n = 0;
    for b in people {
        let [id, patient] = subjects_of(b);
        let appears = occurs(&text, &id) || text.contains(&patient);
        if appears {
            n += 1;
            assert!(
                shown.contains(&id) || shown.contains(&patient),
                "{context}: the answer shows {b} but disclosure says {shown:?}\nquery: {}",
                serde_json::to_string(q).unwrap()
            );
        }
    }
    for s in &shown {
        assert!(
            people.contains(s) || s.starts_with("Patient/"),
            "{context}: disclosed {s:?}, who is no beneficiary"
        );
    }
    n
}

/// Queries that show people, asked by `actor` around `at`.
fn sweep(actor: &Actor, at: DateTime<Utc>, people: &BTreeSet<String>) -> Vec<Query> {
    let f = actor.facility.clone().unwrap_or_else(|| "F0001".into());
    let agenda = format!("{f}-A01");
    let (from, to) = (
        at - chrono::Duration::days(30),
        at + chrono::Duration::days(60),
    );
    let q = |v: Value| serde_json::from_value::<Query>(v).unwrap();
    let mut out = vec![
        q(json!({"type": "worklist", "facility": f})),
        q(json!({"type": "outgoing_referrals", "facility": f})),
        q(json!({"type": "agenda_view", "agenda": agenda, "from": from.date_naive(), "days": 90})),
        q(json!({"type": "waitlist", "facility": f})),
        q(json!({"type": "find_beneficiaries", "text": "a"})),
        q(json!({"type": "audit_trail", "limit": 500})),
        q(json!({"type": "breach_report", "facility": f, "from": from, "to": to})),
        q(json!({"type": "fhir", "resource_type": "Patient", "params": []})),
        q(json!({"type": "fhir", "resource_type": "Appointment", "params": []})),
        q(json!({"type": "fhir", "resource_type": "ServiceRequest", "params": []})),
        q(json!({"type": "fhir", "resource_type": "Task", "params": []})),
        q(json!({"type": "calendar", "of": "agenda", "id": agenda, "from": from, "to": to})),
        q(json!({"type": "calendar", "of": "facility", "id": f, "from": from, "to": to})),
    ];
    for d in -5..30 {
        let date = (at + chrono::Duration::days(d)).date_naive();
        out.push(q(
            json!({"type": "agenda_appointments", "agenda": agenda, "date": date}),
        ));
    }
    for n in 1..8 {
        out.push(q(json!({"type": "referral", "referral": n})));
        out.push(q(
            json!({"type": "calendar", "of": "appointment", "id": n.to_string()}),
        ));
    }
    for b in people.iter().take(40) {
        out.push(q(
            json!({"type": "beneficiary_appointments", "beneficiary": b}),
        ));
        out.push(q(json!({"type": "calendar", "of": "beneficiary", "id": b})));
    }
    out
}

#[test]
fn every_beneficiary_an_answer_shows_is_disclosed() {
    let actors: Vec<Actor> = synth::demo_actors(&Spec::demo())
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    let mut answers = 0;
    let mut shown = 0;
    for (path, scenario) in load_all() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let x = expand(&scenario);
        let mut engine = Engine::new();
        for r in x["seed"].as_array().unwrap() {
            engine
                .execute(serde_json::from_value::<Request>(r.clone()).unwrap())
                .unwrap();
        }
        let mut last = Utc::now();
        for (i, st) in x["steps"].as_array().unwrap().iter().enumerate() {
            if let Some(r) = st.get("request") {
                if let Ok(req) = serde_json::from_value::<Request>(r.clone()) {
                    last = req.at;
                    let _ = engine.execute(req);
                }
                continue;
            }
            let (Ok(actor), Ok(q), Ok(at)) = (
                serde_json::from_value::<Actor>(st["actor"].clone()),
                serde_json::from_value::<Query>(st["query"].clone()),
                st["at"].as_str().unwrap_or("").parse::<DateTime<Utc>>(),
            ) else {
                continue;
            };
            last = at;
            if let Ok(a) = engine.query(&actor, &q, at) {
                let people = beneficiaries(&engine);
                answers += 1;
                shown += check(&q, &a, &people, &format!("{name} step {i}"));
            }
        }
        // The sweep, by every demo actor, over the scenario's final state.
        let people = beneficiaries(&engine);
        for actor in &actors {
            for q in sweep(actor, last, &people) {
                if let Ok(a) = engine.query(actor, &q, last) {
                    answers += 1;
                    shown += check(&q, &a, &people, &format!("{name} sweep {}", actor.user));
                }
            }
        }
        // An event feed or an audit trail of the whole journal.
        let text = serde_json::to_string(engine.journal()).unwrap();
        let by_entries = disclosed_by_entries(engine.journal());
        for b in &people {
            if occurs(&text, b) {
                assert!(by_entries.contains(b), "{name}: the journal shows {b}");
            }
        }
    }
    // The check saw people: a sweep that answered nothing would prove nothing.
    assert!(answers > 200, "{answers} answers");
    assert!(shown > 100, "{shown} beneficiaries shown");
}

#[test]
fn answers_that_show_nobody_disclose_nobody() {
    let mut e = Engine::new();
    for r in synth::reference(&Spec::demo()) {
        e.execute(r).unwrap();
    }
    let admin = synth::demo_actors(&Spec::demo())
        .into_iter()
        .map(|(_, a)| a)
        .find(|a| a.role == enlace_core::Role::Admin)
        .expect("a demo admin");
    for q in [
        json!({"type": "services"}),
        json!({"type": "facilities"}),
        json!({"type": "agendas"}),
        json!({"type": "fhir", "resource_type": "metadata", "params": []}),
    ] {
        let q: Query = serde_json::from_value(q).unwrap();
        if let Ok(a) = e.query(&admin, &q, Utc::now()) {
            assert_eq!(disclosed(&q, &a), Vec::<String>::new(), "{q:?}");
        }
    }
}
