//! The scenario corpus shared by every face of the engine.
//!
//! A scenario (`tests/scenarios/*.json`) is a list of steps — a command or a
//! query, by an actor, at an instant — played on a seeded network. Its
//! expected outcomes (`*.expected.json`) are committed. Every face (native
//! core, the component in wasmtime, the browser package in Node, the
//! component under jco) must produce exactly those outcomes and the same
//! journal head hash. Run with `UPDATE_EXPECT=1` to rewrite expected files
//! after an intended change, then review the diff.

pub mod exchange;

use enlace_core::synth::{self, Spec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// One scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `demo` seeds the synthetic demo network first; `empty` starts bare.
    pub network: String,
    pub steps: Vec<Step>,
}

/// One step: a command or a query by a named demo actor (or an inline actor).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(rename = "as")]
    pub actor: Value,
    pub at: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub command: Option<Value>,
    #[serde(default)]
    pub query: Option<Value>,
    /// A note for readers of the scenario.
    #[serde(default)]
    pub note: String,
}

/// A face of the engine, driven with JSON values so that every face is fed
/// exactly the same bytes.
pub trait Face {
    /// Executes a request `{actor, at, key, command}`; returns
    /// `{"ok": outcome}` or `{"error": {code, message, details}}`.
    fn execute(&mut self, request: &Value) -> Value;
    /// Answers `query` for `actor` at `now`; returns `{"answer": …}` or `{"error": …}`.
    fn query(&mut self, actor: &Value, query: &Value, now: &str) -> Value;
    /// The head hash of the journal.
    fn head(&mut self) -> String;
}

/// The native face: enlace-core called directly.
#[derive(Debug, Default)]
pub struct Native(pub enlace_core::Engine);

impl Face for Native {
    fn execute(&mut self, request: &Value) -> Value {
        match serde_json::from_value::<enlace_core::Request>(request.clone()) {
            Ok(req) => match self.0.execute(req) {
                Ok(out) => json!({ "ok": out }),
                Err(e) => json!({ "error": e.to_body() }),
            },
            Err(e) => {
                json!({ "error": { "code": "malformed", "message": e.to_string(), "details": {} } })
            }
        }
    }

    fn query(&mut self, actor: &Value, query: &Value, now: &str) -> Value {
        let parsed = (
            serde_json::from_value::<enlace_core::Actor>(actor.clone()),
            serde_json::from_value::<enlace_core::Query>(query.clone()),
            now.parse::<chrono::DateTime<chrono::Utc>>(),
        );
        match parsed {
            (Ok(a), Ok(q), Ok(t)) => match self.0.query(&a, &q, t) {
                Ok(ans) => json!({ "answer": ans }),
                Err(e) => json!({ "error": e.to_body() }),
            },
            _ => json!({ "error": { "code": "malformed", "message": "bad query", "details": {} } }),
        }
    }

    fn head(&mut self) -> String {
        self.0.state().head().to_owned()
    }
}

/// The folder holding the scenario files.
pub fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// All scenarios, sorted by file name.
pub fn load_all() -> Vec<(PathBuf, Scenario)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("tests/scenarios exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p.to_string_lossy().ends_with(".expected.json")
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable scenario");
            let s: Scenario =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, s)
        })
        .collect()
}

/// The requests that seed a network, as JSON, in order.
pub fn seed_requests(network: &str) -> Vec<Value> {
    match network {
        "demo" => synth::reference(&Spec::demo())
            .into_iter()
            .map(|r| serde_json::to_value(r).expect("serialisable"))
            .collect(),
        "empty" => Vec::new(),
        other => panic!("unknown network {other:?}"),
    }
}

/// Resolves a step's actor: a demo actor's name or an inline actor object.
pub fn resolve_actor(actor: &Value) -> Value {
    match actor {
        Value::String(name) => {
            let actors = synth::demo_actors(&Spec::demo());
            let found = actors
                .into_iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("unknown demo actor {name:?}"));
            serde_json::to_value(found.1).expect("serialisable")
        }
        other => other.clone(),
    }
}

/// The expanded form of a scenario that every face consumes: seeding
/// requests plus resolved steps. Written to `dist/scenarios.json` for the
/// JavaScript and Python runners.
pub fn expand(s: &Scenario) -> Value {
    let steps: Vec<Value> = s
        .steps
        .iter()
        .map(|st| {
            let actor = resolve_actor(&st.actor);
            match (&st.command, &st.query) {
                (Some(c), None) => json!({
                    "request": { "actor": actor, "at": st.at, "key": st.key, "command": c }
                }),
                (None, Some(q)) => json!({ "query": q, "actor": actor, "at": st.at }),
                _ => panic!("{}: a step has exactly one of command or query", s.name),
            }
        })
        .collect();
    json!({ "name": s.name, "seed": seed_requests(&s.network), "steps": steps })
}

/// Plays an expanded scenario on a face; returns the outcomes of the steps
/// (not of the seeding) and the final head hash.
pub fn play(face: &mut dyn Face, expanded: &Value) -> (Vec<Value>, String) {
    for (i, r) in expanded["seed"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let out = face.execute(r);
        assert!(out.get("ok").is_some(), "seed request {i} refused: {out}");
    }
    let mut outcomes = Vec::new();
    for st in expanded["steps"].as_array().into_iter().flatten() {
        let out = if let Some(req) = st.get("request") {
            face.execute(req)
        } else {
            face.query(
                &st["actor"],
                &st["query"],
                st["at"].as_str().unwrap_or_default(),
            )
        };
        outcomes.push(out);
    }
    let head = face.head();
    (outcomes, head)
}

/// Compares outcomes with the expected ones; the message names the first
/// differing step and, inside it, the first differing event.
pub fn compare(name: &str, expected: &Value, outcomes: &[Value], head: &str) -> Result<(), String> {
    let exp = expected["outcomes"].as_array().cloned().unwrap_or_default();
    if exp.len() != outcomes.len() {
        return Err(format!(
            "{name}: expected {} outcomes, got {}",
            exp.len(),
            outcomes.len()
        ));
    }
    for (i, (e, o)) in exp.iter().zip(outcomes).enumerate() {
        if !json_eq(e, o) {
            let detail = first_event_difference(e, o)
                .unwrap_or_else(|| format!("expected {e}\n     got {o}"));
            return Err(format!("{name}: step {i} differs: {detail}"));
        }
    }
    if expected["head"].as_str() != Some(head) {
        return Err(format!(
            "{name}: journal head differs: expected {}, got {head}",
            expected["head"]
        ));
    }
    Ok(())
}

fn first_event_difference(e: &Value, o: &Value) -> Option<String> {
    let ee = e.pointer("/ok/events")?.as_array()?;
    let oe = o.pointer("/ok/events")?.as_array()?;
    for (k, (a, b)) in ee.iter().zip(oe).enumerate() {
        if !json_eq(a, b) {
            return Some(format!("event {k}: expected {a}\n     got {b}"));
        }
    }
    Some(format!(
        "{} events expected, {} produced",
        ee.len(),
        oe.len()
    ))
}

/// JSON equality that treats numbers by value (1 == 1.0), as JavaScript does.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The expected-file path of a scenario file.
pub fn expected_path(scenario: &Path) -> PathBuf {
    scenario.with_extension("expected.json")
}

/// Plays every scenario on faces made by `make` and checks them against the
/// committed expectations (or rewrites them when `UPDATE_EXPECT=1` and
/// `may_update`). Returns the failures.
pub fn check_all(make: &mut dyn FnMut() -> Box<dyn Face>, may_update: bool) -> Vec<String> {
    let update = may_update && std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for (path, s) in load_all() {
        let expanded = expand(&s);
        let mut face = make();
        let (outcomes, head) = play(face.as_mut(), &expanded);
        let exp_path = expected_path(&path);
        if update {
            let doc = json!({ "outcomes": outcomes, "head": head });
            let text = serde_json::to_string_pretty(&doc).expect("serialisable") + "\n";
            std::fs::write(&exp_path, text).expect("writable");
            continue;
        }
        let expected: Value = match std::fs::read_to_string(&exp_path) {
            Ok(t) => serde_json::from_str(&t).expect("expected file parses"),
            Err(_) => {
                failures.push(format!(
                    "{}: no expected file; run UPDATE_EXPECT=1 cargo test -p enlace-tests",
                    s.name
                ));
                continue;
            }
        };
        if let Err(e) = compare(&s.name, &expected, &outcomes, &head) {
            failures.push(e);
        }
    }
    failures
}
