//! The engine component in wasmtime behind [`EngineBackend`]: what the
//! server runs by default. The wasmtime side (loading, the compiled-artifact
//! cache, `InstancePre`, typed calls) is `crate::component`; this module only
//! adapts it to the writer's interface.

use crate::backend::{BackendFactory, EngineBackend, Executed, Refusal, Trap};
use crate::component::{ComponentEngine, HostError, Options, Runtime};
use anyhow::Context;
use chrono::{DateTime, Utc};
use enlace_core::{Actor, Answer, Entry, ErrorBody, ErrorKind, Query, Request};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the component is looked for when no path is configured: `dist/`
/// under the current folder, then under the workspace this binary was
/// built from.
pub fn default_component_path() -> PathBuf {
    let here = PathBuf::from("dist/enlace.component.wasm");
    if here.is_file() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("dist")
        .join("enlace.component.wasm")
}

/// One tenant's engine: a component instance.
#[derive(Debug)]
pub struct ComponentBackend {
    engine: ComponentEngine,
}

impl ComponentBackend {
    pub fn new(runtime: &Runtime) -> anyhow::Result<Self> {
        Ok(ComponentBackend {
            engine: runtime.new_engine().map_err(|e| anyhow::anyhow!("{e}"))?,
        })
    }

    /// Changes the fuel of this instance's next calls (only with a runtime
    /// loaded with fuel); a rebuilt instance gets the runtime's fuel again.
    pub fn set_fuel_per_call(&mut self, fuel: u64) {
        self.engine.set_fuel_per_call(fuel);
    }
}

/// The class of a refusal the component gave as `{code, message, details}`.
fn refusal(body: ErrorBody) -> Refusal {
    let kind = ErrorKind::of_code(&body.code).unwrap_or_else(|| {
        tracing::warn!(code = %body.code, "the engine answered an error code this host does not know");
        ErrorKind::RuleViolation
    });
    Refusal { kind, body }
}

fn trap(e: HostError) -> Trap {
    Trap(e.to_string())
}

impl EngineBackend for ComponentBackend {
    fn name(&self) -> &'static str {
        "component"
    }

    fn execute(&mut self, req: &Request) -> Result<Result<Executed, Refusal>, Trap> {
        Ok(self
            .engine
            .execute_recorded(req.clone())
            .map_err(trap)?
            .map_err(refusal))
    }

    fn query(
        &mut self,
        actor: &Actor,
        q: &Query,
        now: DateTime<Utc>,
    ) -> Result<Result<Answer, Refusal>, Trap> {
        Ok(self
            .engine
            .query(actor.clone(), q.clone(), now)
            .map_err(trap)?
            .map_err(refusal))
    }

    fn query_over(
        &mut self,
        actor: &Actor,
        q: &Query,
        now: DateTime<Utc>,
        entries: &[Entry],
    ) -> Result<Result<Answer, Refusal>, Trap> {
        Ok(self
            .engine
            .query_over(actor.clone(), q, now, entries)
            .map_err(trap)?
            .map_err(refusal))
    }

    fn restore(&mut self, snapshot: Option<&[u8]>, tail: Vec<Entry>) -> anyhow::Result<()> {
        self.engine
            .restore(snapshot, &tail)
            .map_err(|e| anyhow::anyhow!("restoring the component instance: {e}"))
    }

    fn snapshot(&mut self) -> Result<Vec<u8>, Trap> {
        self.engine.snapshot().map_err(trap)
    }

    fn forget_through(&mut self, seq: u64) -> Result<(), Trap> {
        self.engine.forget_through(seq).map_err(trap)
    }

    fn seq(&mut self) -> Result<u64, Trap> {
        self.engine.seq().map_err(trap)
    }
}

/// Loads (compiling once, then from the artifact cache) the component and
/// returns a factory of instances, one per tenant.
pub fn factory(
    component: Option<PathBuf>,
    fuel_per_call: Option<u64>,
) -> anyhow::Result<BackendFactory> {
    let path = component.unwrap_or_else(default_component_path);
    if !path.is_file() {
        anyhow::bail!(
            "the engine component {} is missing: build it with `cargo xtask build` (or pass --component PATH)",
            path.display()
        );
    }
    let options = Options {
        fuel_per_call,
        ..Options::default()
    };
    let runtime = Runtime::load_with(&path, &options)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("loading the engine component {}", path.display()))?;
    let r = runtime.report();
    tracing::info!(
        component = %path.display(),
        bytes = r.component_bytes,
        source = ?r.source,
        ms = r.elapsed.as_secs_f64() * 1e3,
        "engine component loaded"
    );
    Ok(Arc::new(move || {
        Ok(Box::new(ComponentBackend::new(&runtime)?) as Box<dyn EngineBackend>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_core::{Command, Role};

    fn runtime(fuel: Option<u64>) -> Runtime {
        let path = default_component_path();
        assert!(
            path.is_file(),
            "{} is missing: run `cargo xtask build` first",
            path.display()
        );
        Runtime::load_with(
            &path,
            &Options {
                fuel_per_call: fuel,
                ..Options::default()
            },
        )
        .unwrap()
    }

    fn holiday(i: u32) -> Request {
        Request {
            actor: Actor::new("ana", "ministry", None, Role::Admin),
            at: "2026-03-02T12:00:00Z".parse().unwrap(),
            key: Some(format!("h{i}")),
            command: Command::DeclareHoliday {
                date: "2026-05-01".parse().unwrap(),
                name: format!("Holiday {i}"),
            },
        }
    }

    /// A real guest trap (the instance runs out of fuel) fails that call; the
    /// instance rebuilt from the journal serves the next one, and nothing
    /// acknowledged is lost.
    #[test]
    fn a_trapped_instance_is_rebuilt_from_the_journal() {
        let rt = runtime(Some(10_000_000_000));
        let mut b = ComponentBackend::new(&rt).unwrap();
        let mut journal = Vec::new();
        for i in 0..3 {
            let ex = b.execute(&holiday(i)).unwrap().unwrap();
            journal.extend(ex.entry);
        }
        b.set_fuel_per_call(1_000);
        assert!(b.execute(&holiday(3)).is_err(), "out of fuel: a trap");
        assert!(b.seq().is_err(), "a trapped instance refuses every call");
        b.rebuild(journal.clone()).unwrap();
        assert_eq!(b.seq().unwrap(), 3);
        // The retry of an acknowledged key replays; a new command executes.
        let again = b.execute(&holiday(1)).unwrap().unwrap();
        assert!(again.outcome.replayed && again.entry.is_none());
        let next = b.execute(&holiday(3)).unwrap().unwrap();
        assert_eq!(next.outcome.seq, 4);
        journal.extend(next.entry);
        assert!(enlace_core::verify(&journal).broken.is_none());
    }

    /// The component and native core answer the same, refusals included.
    #[test]
    fn component_and_native_agree() {
        use crate::backend::NativeBackend;
        let rt = runtime(None);
        let mut c = ComponentBackend::new(&rt).unwrap();
        let mut n = NativeBackend::new();
        let spec = enlace_core::synth::Spec::demo();
        for req in enlace_core::synth::reference(&spec).into_iter().take(30) {
            let (a, b) = (c.execute(&req).unwrap(), n.execute(&req).unwrap());
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(a.outcome, b.outcome);
            assert_eq!(a.entry, b.entry);
        }
        let clerk = Actor::new("c", "x", Some("F0001"), Role::Clerk);
        let bad = Request {
            actor: clerk,
            ..holiday(9)
        };
        let (a, b) = (c.execute(&bad).unwrap(), n.execute(&bad).unwrap());
        assert_eq!(a.unwrap_err(), b.unwrap_err());
    }

    /// A component restored from a snapshot (its own or native core's: the
    /// bytes are the same format) holds the same state, lets go of what it
    /// is told, and pages audit trails over supplied entries as natively.
    #[test]
    fn snapshots_cross_between_component_and_native() {
        use crate::backend::NativeBackend;
        let rt = runtime(None);
        let mut c = ComponentBackend::new(&rt).unwrap();
        let mut n = NativeBackend::new();
        let spec = enlace_core::synth::Spec::demo();
        let mut journal = Vec::new();
        for req in enlace_core::synth::reference(&spec).into_iter().take(40) {
            let ex = c.execute(&req).unwrap().unwrap();
            n.execute(&req).unwrap().unwrap();
            journal.extend(ex.entry);
        }
        let (cs, ns) = (c.snapshot().unwrap(), n.snapshot().unwrap());
        let mut from_native = ComponentBackend::new(&rt).unwrap();
        from_native.restore(Some(&ns), Vec::new()).unwrap();
        let mut from_component = NativeBackend::new();
        from_component.restore(Some(&cs), Vec::new()).unwrap();
        assert_eq!(from_native.seq().unwrap(), 40);
        assert_eq!(from_component.seq().unwrap(), 40);
        let auditor = Actor::new("aud", "ministry", None, Role::Auditor);
        let now = spec.start;
        let q = Query::AuditTrail {
            facility: Some(enlace_core::synth::facility_id(0)),
            referral: None,
            after: 0,
            limit: 1000,
        };
        let paged = from_native
            .query_over(&auditor, &q, now, &journal)
            .unwrap()
            .unwrap();
        assert_eq!(paged, n.query(&auditor, &q, now).unwrap().unwrap());
        assert_eq!(
            from_native
                .query(&auditor, &Query::Facilities, now)
                .unwrap(),
            n.query(&auditor, &Query::Facilities, now).unwrap()
        );
        // A damaged snapshot is refused and leaves the instance as it was.
        let err = from_native
            .restore(Some(&cs[..cs.len() / 2]), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("snapshot"), "{err}");
        assert_eq!(from_native.seq().unwrap(), 40);
        c.forget_through(30).unwrap();
        assert_eq!(c.seq().unwrap(), 40);
    }
}
