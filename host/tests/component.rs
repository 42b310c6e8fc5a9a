//! enlace-host's embedding of the engine component: the artifact cache,
//! refusals of unreadable input, traps and the rebuild from the journal.
//!
//! Needs `dist/enlace.component.wasm` (`cargo xtask build`); fails, rather
//! than skips, without it. The scenario corpus runs on the component in
//! `tests/tests/component.rs`.

use enlace_core::synth::{self, Spec};
use enlace_core::{Actor, Command, Engine, ErrorKind, Query, Request};
use enlace_host::component::{ArtifactSource, ComponentEngine, HostError, Options, Runtime, wit};
use std::path::PathBuf;
use std::sync::OnceLock;

fn component_path() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist/enlace.component.wasm");
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build` to build the component, then test again",
        path.display()
    );
    path
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::load(component_path()).expect("the component loads"))
}

/// The demo network's reference data, as native core journals it.
fn demo_journal() -> Engine {
    let mut engine = Engine::new();
    for r in synth::reference(&Spec::demo()) {
        engine.execute(r).expect("the demo network seeds");
    }
    engine
}

fn actor(name: &str) -> Actor {
    synth::demo_actors(&Spec::demo())
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| a)
        .expect("a demo actor")
}

/// A booking that the demo network accepts.
fn booking() -> Request {
    Request {
        actor: actor("clinic-clerk"),
        at: "2026-03-02T13:00:00Z".parse().unwrap(),
        key: Some("b-1".into()),
        command: Command::BookAppointment {
            agenda: format!("{}-A01", synth::facility_id(0)),
            start: "2026-03-03T14:00:00Z".parse().unwrap(),
            beneficiary: synth::beneficiary_id(0),
            follow_up_of: None,
            overbook: false,
        },
    }
}

#[test]
fn the_compiled_artifact_is_cached_and_mapped_in_on_the_next_load() {
    let dir = std::env::temp_dir().join(format!("enlace-cwasm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = Options {
        cache_dir: Some(dir.clone()),
        ..Options::default()
    };
    let first = Runtime::load_with(component_path(), &options).unwrap();
    assert_eq!(first.report().source, ArtifactSource::Compiled);
    let artifact = first.report().artifact.clone().unwrap();
    assert!(artifact.starts_with(&dir) && artifact.exists());
    let name = artifact.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.contains(&first.report().sha256) && name.contains("wasmtime48.0.8"),
        "{name}"
    );

    let second = Runtime::load_with(component_path(), &options).unwrap();
    assert_eq!(second.report().source, ArtifactSource::Cached);
    assert_eq!(second.report().artifact.as_ref(), Some(&artifact));

    // Both run the same engine.
    let mut a = ComponentEngine::new(&first).unwrap();
    let mut b = ComponentEngine::new(&second).unwrap();
    let (ra, rb) = (a.execute(booking()).unwrap(), b.execute(booking()).unwrap());
    assert_eq!(ra, rb);
    assert_eq!(a.head().unwrap(), b.head().unwrap());

    // A runtime without the cache compiles every time and writes nothing.
    let uncached = Runtime::load_with(
        component_path(),
        &Options {
            no_cache: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(uncached.report().source, ArtifactSource::Compiled);
    assert!(uncached.report().artifact.is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreadable_instants_and_dates_are_refused_as_invalid_input_not_trapped() {
    let mut engine = ComponentEngine::new(runtime()).unwrap();
    let admin = wit::Actor {
        user: "ana".into(),
        agency: "health-ministry".into(),
        facility: None,
        role: wit::Role::Admin,
    };
    let request = wit::Request {
        actor: admin.clone(),
        at: "yesterday at noon".into(),
        key: None,
        command: wit::Command::DeclareHoliday(wit::DeclareHoliday {
            date: "2026-05-01".into(),
            name: "Labour day".into(),
        }),
    };
    let refused = engine.execute_wit(&request).unwrap().unwrap_err();
    assert_eq!(refused.code, "invalid_input");
    assert!(
        refused.details.contains(&("field".into(), "at".into())),
        "{refused:?}"
    );

    let request = wit::Request {
        at: "2026-03-02T12:00:00Z".into(),
        command: wit::Command::DeclareHoliday(wit::DeclareHoliday {
            date: "2026-02-30".into(),
            name: "No such day".into(),
        }),
        ..request
    };
    let refused = engine.execute_wit(&request).unwrap().unwrap_err();
    assert_eq!(refused.code, "invalid_input");
    assert!(
        refused
            .details
            .contains(&("field".into(), "command.date".into())),
        "{refused:?}"
    );

    let query = wit::Query::AgendaView(wit::AgendaViewQuery {
        agenda: "F0000-A01".into(),
        from: "2026-3-x".into(),
        days: 1,
    });
    let refused = engine
        .query_wit(&admin, &query, &"2026-03-02T12:00:00Z".to_owned())
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.code, "invalid_input");
    assert!(
        refused
            .details
            .contains(&("field".into(), "query.from".into())),
        "{refused:?}"
    );

    // Nothing changed, and the instance is still usable.
    assert!(!engine.is_poisoned());
    assert_eq!(engine.seq().unwrap(), 0);
    assert_eq!(engine.head().unwrap(), "");
}

#[test]
fn a_trap_poisons_the_instance_and_the_journal_rebuilds_it_unchanged() {
    // Fuel bounds the work of each call: a call that runs out traps in the
    // middle of the engine's work, as a panic would.
    let runtime = Runtime::load_with(
        component_path(),
        &Options {
            fuel_per_call: Some(u64::MAX / 2),
            ..Options::default()
        },
    )
    .unwrap();
    let native = demo_journal();
    let durable = native.journal().to_vec();
    let mut engine = ComponentEngine::from_journal(&runtime, &durable).unwrap();
    let head = engine.head().unwrap();
    assert_eq!(head, native.state().head());

    engine.set_fuel_per_call(20_000);
    let err = engine.execute(booking()).unwrap_err();
    assert!(matches!(err, HostError::Trap(_)), "{err}");
    assert!(engine.is_poisoned());
    assert!(matches!(engine.head(), Err(HostError::Poisoned)));

    // The host rebuilds from what it had made durable: the interrupted
    // command left nothing behind, and the retry is decided afresh.
    engine.rebuild_from_journal(&durable).unwrap();
    assert!(!engine.is_poisoned());
    assert_eq!(engine.head().unwrap(), head);
    let mut native = native;
    let expected = native.execute(booking()).unwrap();
    let recorded = engine.execute_recorded(booking()).unwrap().unwrap();
    assert_eq!(recorded.outcome, expected);
    assert!(!recorded.outcome.replayed);
    assert_eq!(recorded.entry.as_ref(), native.journal().last());
    assert_eq!(engine.head().unwrap(), native.state().head());

    // An idempotent retry has no new entry to persist.
    let retry = engine.execute_recorded(booking()).unwrap().unwrap();
    assert!(retry.outcome.replayed && retry.entry.is_none());
}

#[test]
fn a_journal_with_a_broken_chain_is_refused() {
    let native = demo_journal();
    let mut entries = native.journal().to_vec();
    entries[3].hash = "0".repeat(64);
    let err = ComponentEngine::from_journal(runtime(), &entries).unwrap_err();
    match err {
        HostError::Journal(body) => {
            assert_eq!(body.code, "invalid_input");
            assert!(body.message.contains("entry 3"), "{}", body.message);
        }
        other => panic!("expected a refused journal, got {other}"),
    }
}

#[test]
fn queries_and_refusals_are_the_native_ones() {
    let native = demo_journal();
    let mut engine = ComponentEngine::from_journal(runtime(), native.journal()).unwrap();
    let now = "2026-03-02T13:00:00Z".parse().unwrap();
    let q = Query::FreeSlots {
        service: "prenatal".into(),
        region: None,
        tier: None,
        facilities: vec![],
        from: now,
        to: "2026-03-09T00:00:00Z".parse().unwrap(),
        limit: 10,
        for_referral: false,
    };
    let clerk = actor("clinic-clerk");
    assert_eq!(
        engine.query(clerk.clone(), q.clone(), now).unwrap(),
        native.query(&clerk, &q, now).map_err(|e| e.to_body())
    );
    let refused = engine
        .query(clerk.clone(), Query::VerifyAudit, now)
        .unwrap()
        .unwrap_err();
    let expected = native.query(&clerk, &Query::VerifyAudit, now).unwrap_err();
    assert_eq!(refused, expected.to_body());
    assert_eq!(ErrorKind::of_code(&refused.code), Some(expected.kind()));
}
