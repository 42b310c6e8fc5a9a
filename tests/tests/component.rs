//! The scenario corpus against the component in wasmtime: the typed WIT
//! interface through enlace-host's `bindgen!` embedding.
//!
//! Every scenario must give exactly the committed outcomes and journal head
//! hash, as on the native face. Requests arrive as JSON, are read into
//! enlace-core's types with serde (as natively), cross into the component as
//! WIT values and come back as WIT values converted to core's types, which
//! are serialised here: so equality also proves the conversions lossless.
//!
//! Needs `dist/enlace.component.wasm`: `cargo xtask build` makes it. The
//! test fails, rather than skips, when it is missing.

use enlace_core::{Actor, Engine, Query, Request};
use enlace_host::component::{ComponentEngine, Runtime};
use enlace_tests::{Face, Native, check_all, expand, load_all, play};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::OnceLock;

fn component_path() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.parent()
        .unwrap_or(&root)
        .join("dist/enlace.component.wasm")
}

/// The component, compiled (or mapped from the artifact cache) once per run.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let path = component_path();
        assert!(
            path.exists(),
            "{} is missing: run `cargo xtask build` to build the component, then test again",
            path.display()
        );
        Runtime::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// The component face: one component instance per scenario.
struct Component(ComponentEngine);

fn malformed(e: impl std::fmt::Display) -> Value {
    // The same answer the native face gives to JSON that does not read.
    json!({ "error": { "code": "malformed", "message": e.to_string(), "details": {} } })
}

impl Face for Component {
    fn execute(&mut self, request: &Value) -> Value {
        let request: Request = match serde_json::from_value(request.clone()) {
            Ok(r) => r,
            Err(e) => return malformed(e),
        };
        match self.0.execute(request).expect("the component trapped") {
            Ok(out) => json!({ "ok": out }),
            Err(e) => json!({ "error": e }),
        }
    }

    fn query(&mut self, actor: &Value, query: &Value, now: &str) -> Value {
        let parsed = (
            serde_json::from_value::<Actor>(actor.clone()),
            serde_json::from_value::<Query>(query.clone()),
            now.parse::<chrono::DateTime<chrono::Utc>>(),
        );
        let (Ok(actor), Ok(query), Ok(now)) = parsed else {
            return malformed("bad query");
        };
        match self
            .0
            .query(actor, query, now)
            .expect("the component trapped")
        {
            Ok(answer) => json!({ "answer": answer }),
            Err(e) => json!({ "error": e }),
        }
    }

    fn head(&mut self) -> String {
        self.0.head().expect("the component trapped")
    }
}

fn new_face() -> Box<dyn Face> {
    Box::new(Component(
        ComponentEngine::new(runtime()).expect("a component instance"),
    ))
}

#[test]
fn component_in_wasmtime_matches_the_committed_outcomes() {
    let failures = check_all(&mut new_face, false);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Plays every scenario natively and on the component, then compares the
/// whole journals: as typed entries and as JSON, byte for byte.
#[test]
fn component_journal_is_the_native_journal() {
    for (_, scenario) in load_all() {
        let expanded = expand(&scenario);
        let mut native = Native(Engine::new());
        play(&mut native, &expanded);
        let mut component = Component(ComponentEngine::new(runtime()).unwrap());
        play(&mut component, &expanded);

        let native_json = serde_json::to_string(native.0.journal()).unwrap();
        let component_json = component.0.journal_json().unwrap();
        assert!(
            native_json == component_json,
            "{}: journal-json differs from native core's JSON",
            scenario.name
        );
        let entries = component.0.entries_after(0).unwrap();
        assert_eq!(
            entries,
            native.0.journal(),
            "{}: typed entries",
            scenario.name
        );
        assert_eq!(
            component.0.seq().unwrap(),
            native.0.state().seq(),
            "{}",
            scenario.name
        );
        assert_eq!(
            component.0.verify().unwrap(),
            native.0.verify(),
            "{}",
            scenario.name
        );
        let tail = native.0.journal().len() as u64 / 2;
        assert_eq!(
            component.0.entries_after_json(tail).unwrap(),
            serde_json::to_string(native.0.entries_after(tail)).unwrap(),
            "{}",
            scenario.name
        );
    }
}

/// An engine rebuilt from a journal inside the component continues exactly
/// as the native engine does.
#[test]
fn component_rebuilt_from_the_journal_continues_like_native() {
    let (_, scenario) = load_all()
        .into_iter()
        .find(|(_, s)| s.network == "demo")
        .expect("a scenario on the demo network");
    let expanded = expand(&scenario);
    let steps = expanded["steps"].as_array().unwrap();
    let (first, rest) = steps.split_at(steps.len() / 2);
    let mut half = expanded.clone();
    half["steps"] = Value::Array(first.to_vec());
    let mut native = Native(Engine::new());
    play(&mut native, &half);

    let mut component = Component(
        ComponentEngine::from_journal(runtime(), native.0.journal()).expect("the journal verifies"),
    );
    assert_eq!(component.head(), native.head());
    for step in rest {
        let (n, c) = match step.get("request") {
            Some(req) => (native.execute(req), component.execute(req)),
            None => {
                let at = step["at"].as_str().unwrap();
                (
                    native.query(&step["actor"], &step["query"], at),
                    component.query(&step["actor"], &step["query"], at),
                )
            }
        };
        assert_eq!(c, n, "{}", scenario.name);
    }
    assert_eq!(component.head(), native.head());
}

/// The `exchange` interface of the component as a seal face: seals only
/// (the component reads no JSON; see the WIT).
struct ComponentSeals(enlace_host::component::ComponentExchange);

impl enlace_tests::exchange::SealFace for ComponentSeals {
    fn reads_records(&self) -> bool {
        false
    }
    fn canonical(&mut self, _: &str) -> Result<Vec<u8>, enlace_core::ErrorBody> {
        unreachable!("the component does not read records")
    }
    fn seal(&mut self, seed: &[u8], payload: &[u8]) -> Result<String, enlace_core::ErrorBody> {
        self.0
            .seal_record(seed, payload)
            .expect("the component trapped")
    }
    fn verify(
        &mut self,
        trust: &str,
        seal: &str,
        payload: &[u8],
        at: &str,
    ) -> Result<(Value, Option<Value>), enlace_core::ErrorBody> {
        let trust = enlace_core::exchange::TrustList::from_json(trust).map_err(|e| e.to_body())?;
        let at = at.parse().expect("vector instants are RFC 3339");
        let signer = self
            .0
            .verify_seal(&trust, seal, payload, at)
            .expect("the component trapped")?;
        Ok((serde_json::to_value(signer).unwrap(), None))
    }
}

#[test]
fn the_component_passes_the_golden_vectors_of_signed_exchange() {
    let path = enlace_tests::exchange::vectors_path();
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut face = ComponentSeals(runtime().exchange().unwrap());
    let failures = enlace_tests::exchange::check(&mut face, &vectors);
    assert!(failures.is_empty(), "{failures:#?}");
    // Digests are the same bytes as core's.
    for v in vectors["sealed"].as_array().unwrap() {
        let payload = v["payload"].as_str().unwrap().as_bytes();
        assert_eq!(
            face.0.record_digest(payload).unwrap(),
            enlace_core::exchange::digest(payload)
        );
    }
}
