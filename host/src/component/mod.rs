//! The engine component (`dist/enlace.component.wasm`) in wasmtime, with
//! enlace-core's types on the outside.
//!
//! Two types:
//!
//! - [`Runtime`]: the compiled component, ready to instantiate. Load it once
//!   per process; it is cheap to clone and share between threads. Loading
//!   compiles the component with Cranelift only the first time: the compiled
//!   artifact is cached on disk, keyed by the component's SHA-256, the
//!   wasmtime version and the engine configuration, and later loads map it
//!   in (well under a millisecond).
//! - [`ComponentEngine`]: one network's engine, i.e. one component instance
//!   in its own wasmtime `Store`. Instantiating is cheap (an `InstancePre`
//!   did the linking once): one per tenant is fine.
//!
//! Commands, queries and answers cross as typed WIT values, converted from
//! and back to enlace-core's types (see [`convert`]), so a caller
//! serialising what it gets obtains byte-identical JSON to native core.
//!
//! # Two kinds of failure
//!
//! Every call returns `Result<T, HostError>`, and calls that the engine may
//! refuse return `Result<Result<T, ErrorBody>, HostError>`:
//!
//! - the inner `Err(ErrorBody)` is the engine's refusal (`{code, message,
//!   details}`, exactly as native core gives it): nothing changed;
//! - the outer `Err(HostError)` is a failure of the instance itself,
//!   normally a trap (a bug in the engine, or the optional fuel limit of
//!   [`Options::fuel_per_call`]). The instance is then unusable
//!   ([`ComponentEngine::is_poisoned`]); the caller rebuilds it from the
//!   journal entries it has made durable, with
//!   [`ComponentEngine::rebuild_from_journal`]. The interrupted command was
//!   never acknowledged, so nothing acknowledged is lost (see the component's
//!   own documentation in `wasm/src/component/mod.rs` for why no
//!   half-applied state can be observed).
//!
//! # Example
//!
//! ```no_run
//! use enlace_host::component::{ComponentEngine, Runtime};
//! use enlace_core::{Actor, Command, Request, Role};
//!
//! let runtime = Runtime::load("dist/enlace.component.wasm")?;
//! let mut engine = ComponentEngine::new(&runtime)?;
//! let admin = Actor::new("ana", "health-ministry", None, Role::Admin);
//! let request = Request {
//!     actor: admin,
//!     at: "2026-03-02T12:00:00Z".parse()?,
//!     key: Some("setup-1".into()),
//!     command: Command::DeclareHoliday {
//!         date: "2026-05-01".parse()?,
//!         name: "Labour day".into(),
//!     },
//! };
//! match engine.execute_recorded(request)? {
//!     Ok(executed) => {
//!         // Make `executed.entry` durable, then acknowledge `executed.outcome`.
//!         assert_eq!(executed.outcome.seq, 1);
//!     }
//!     Err(refusal) => eprintln!("{}: {}", refusal.code, refusal.message),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod convert;

use crate::backend::Executed;
use chrono::{DateTime, Utc};
use convert::{Bad, WitType};
use enlace_core::{Actor, Answer, Entry, ErrorBody, Outcome, Query, Request, Verification};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Store};

/// The generated host bindings of `wasm/wit/engine.wit` (world `engine`).
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wasm/wit",
        world: "engine",
    });
}

/// The WIT types of the `enlace:engine/api` interface, as wasmtime's
/// `bindgen!` generates them, for callers that want to skip the conversion
/// to core types (see [`ComponentEngine::execute_wit`]).
pub use bindings::exports::enlace::engine::api as wit;

/// The wasmtime this host is built with (pinned `=48.0.8` in Cargo.toml):
/// part of the cache key of compiled artifacts, for people reading the
/// cache folder. wasmtime also checks its version inside every artifact.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// A failure of the host or of the component instance (not a refusal by the
/// engine, which is an `ErrorBody`).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The component could not be compiled, loaded or instantiated.
    #[error("cannot load the engine component: {0:#}")]
    Load(wasmtime::Error),
    /// A call into the component trapped (or failed in wasmtime). The
    /// instance is unusable until [`ComponentEngine::rebuild_from_journal`].
    #[error("the engine component trapped; rebuild it from the journal: {0:#}")]
    Trap(wasmtime::Error),
    /// The instance trapped earlier and has not been rebuilt.
    #[error("the engine component trapped earlier and has not been rebuilt from the journal")]
    Poisoned,
    /// The component answered with a value that is not a valid core value
    /// (a bug in the component: every value it sends is made by core).
    #[error("the engine component sent an unreadable value: {field}: {reason}")]
    Convert { field: String, reason: String },
    /// The journal given to rebuild an engine was refused (its hash chain
    /// breaks, or an entry does not read).
    #[error("the journal was refused: {}", .0.message)]
    Journal(ErrorBody),
}

impl From<Bad> for HostError {
    fn from(b: Bad) -> Self {
        HostError::Convert {
            field: b.field,
            reason: b.reason,
        }
    }
}

/// How to load the component.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where compiled artifacts are cached. `None`: the component's folder.
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the artifact cache: compile every time.
    pub no_cache: bool,
    /// Bounds the work of every call (wasmtime fuel, about one unit per Wasm
    /// instruction): a call that runs out traps, and the instance must be
    /// rebuilt. `None` (the default) sets no bound and costs nothing; a
    /// bound costs a few percent of speed.
    pub fuel_per_call: Option<u64>,
}

/// Where the compiled code of a [`Runtime`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactSource {
    /// Compiled now with Cranelift (no usable cached artifact).
    Compiled,
    /// Mapped in from the on-disk cache.
    Cached,
}

/// What loading the component did, for logs and benchmarks.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub component: PathBuf,
    /// Lowercase hex SHA-256 of the component file.
    pub sha256: String,
    pub component_bytes: u64,
    /// The cached artifact (`None` with [`Options::no_cache`]).
    pub artifact: Option<PathBuf>,
    pub artifact_bytes: u64,
    pub source: ArtifactSource,
    /// Time to read the component and hash it (the cache key).
    pub read_and_hash: Duration,
    /// Time to compile (and cache) or map in the artifact.
    pub compile_or_map: Duration,
    /// Time to link it (`InstancePre`: no imports, so this is export lookup).
    pub link: Duration,
    /// All of it.
    pub elapsed: Duration,
}

/// The compiled engine component, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    engine: wasmtime::Engine,
    pre: bindings::EnginePre<()>,
    fuel_per_call: Option<u64>,
    report: LoadReport,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("report", &self.report)
            .field("fuel_per_call", &self.fuel_per_call)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Loads the component at `path` with the default [`Options`].
    pub fn load(path: impl AsRef<Path>) -> Result<Runtime, HostError> {
        Runtime::load_with(path, &Options::default())
    }

    /// Loads the component at `path`: maps in the cached compiled artifact
    /// when there is a usable one, otherwise compiles the component and
    /// caches the result; then links it (no imports: an empty linker).
    pub fn load_with(path: impl AsRef<Path>, options: &Options) -> Result<Runtime, HostError> {
        let started = Instant::now();
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| HostError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(options.fuel_per_call.is_some());
        if std::env::var_os("ENLACE_PERFMAP_TMP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = wasmtime::Engine::new(&config).map_err(HostError::Load)?;
        let sha256 = hex(&Sha256::digest(&bytes));
        let read_and_hash = started.elapsed();

        let (component, artifact, artifact_bytes, source) = if options.no_cache {
            let cwasm = engine
                .precompile_component(&bytes)
                .map_err(HostError::Load)?;
            // SAFETY: `cwasm` was made just now by `precompile_component` of
            // this very engine, and is not changed while it is read.
            #[allow(unsafe_code)]
            let component =
                unsafe { Component::deserialize(&engine, &cwasm) }.map_err(HostError::Load)?;
            (
                component,
                None,
                cwasm.len() as u64,
                ArtifactSource::Compiled,
            )
        } else {
            let dir = match &options.cache_dir {
                Some(d) => d.clone(),
                None => path.parent().unwrap_or(Path::new(".")).to_owned(),
            };
            let file = dir.join(artifact_name(path, &sha256, &engine));
            let (component, size, source) = load_cached(&engine, &bytes, &file)?;
            (component, Some(file), size, source)
        };

        let compile_or_map = started.elapsed() - read_and_hash;
        let linker: Linker<()> = Linker::new(&engine);
        let pre = linker
            .instantiate_pre(&component)
            .and_then(bindings::EnginePre::new)
            .map_err(HostError::Load)?;
        Ok(Runtime {
            engine,
            pre,
            fuel_per_call: options.fuel_per_call,
            report: LoadReport {
                component: path.to_owned(),
                sha256,
                component_bytes: bytes.len() as u64,
                artifact,
                artifact_bytes,
                source,
                read_and_hash,
                compile_or_map,
                link: started.elapsed() - read_and_hash - compile_or_map,
                elapsed: started.elapsed(),
            },
        })
    }

    /// What loading did: sizes, hash, cache hit or miss, time.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// A new, empty engine (a new component instance).
    pub fn new_engine(&self) -> Result<ComponentEngine, HostError> {
        ComponentEngine::new(self)
    }

    /// A fresh store holding a fresh instance of the component.
    fn instantiate(&self) -> Result<(Store<()>, bindings::Engine), HostError> {
        let mut store = Store::new(&self.engine, ());
        if let Some(fuel) = self.fuel_per_call {
            store.set_fuel(fuel).map_err(HostError::Load)?;
        }
        let world = self.pre.instantiate(&mut store).map_err(HostError::Load)?;
        Ok((store, world))
    }
}

/// `enlace.component-<sha256>-wasmtime<version>-<config>.cwasm`: the file
/// name says which component, which wasmtime and which engine configuration
/// (target, CPU features, flags) the artifact was compiled for.
fn artifact_name(component: &Path, sha256: &str, engine: &wasmtime::Engine) -> String {
    use std::hash::Hash;
    let mut h = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    let config = hex(&h.0.finalize());
    let stem = component
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "component".to_owned());
    format!(
        "{stem}-{sha256}-wasmtime{WASMTIME_VERSION}-{}.cwasm",
        &config[..16]
    )
}

/// Maps in `file` if it holds a usable artifact; otherwise compiles `bytes`
/// and writes the artifact to `file` for next time.
///
/// # Why the unsafe deserialisation is sound
///
/// `Component::deserialize_file` trusts the file to be wasmtime's own
/// output, unmodified, for as long as the component lives (it is mapped into
/// memory). Both hold here:
///
/// - only this function writes these files, from `precompile_component` of
///   an engine with the same configuration (the name carries the
///   component's SHA-256 and the engine's compatibility hash, so a file is
///   never read for another component or configuration);
/// - a file is written under a temporary name and renamed into place, so a
///   reader never maps a half-written file, and no file is ever rewritten
///   in place afterwards (a new artifact gets a new name);
/// - wasmtime itself checks the version, target and flags recorded in the
///   artifact and refuses a mismatch, which we answer by compiling again.
///
/// The cache folder is trusted like the binary itself: whoever can write
/// there could as well replace the component or the server.
fn load_cached(
    engine: &wasmtime::Engine,
    bytes: &[u8],
    file: &Path,
) -> Result<(Component, u64, ArtifactSource), HostError> {
    if let Ok(meta) = std::fs::metadata(file) {
        // SAFETY: see the function's documentation.
        #[allow(unsafe_code)]
        let cached = unsafe { Component::deserialize_file(engine, file) };
        if let Ok(component) = cached {
            return Ok((component, meta.len(), ArtifactSource::Cached));
        }
        // Incompatible or damaged: compile again and replace it below.
    }
    let cwasm = engine
        .precompile_component(bytes)
        .map_err(HostError::Load)?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|source| HostError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    let tmp = file.with_extension(format!("cwasm.tmp{}", std::process::id()));
    std::fs::write(&tmp, &cwasm)
        .and_then(|()| std::fs::rename(&tmp, file))
        .map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            HostError::Io {
                path: file.to_owned(),
                source,
            }
        })?;
    // SAFETY: `cwasm` was made just now by `precompile_component` of this
    // very engine, and is not changed while it is read.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, &cwasm) }.map_err(HostError::Load)?;
    Ok((component, cwasm.len() as u64, ArtifactSource::Compiled))
}

/// Feeds `Hash` output into SHA-256, for a cache key that does not depend on
/// the standard library's hasher.
struct Sha256Hasher(Sha256);

impl std::hash::Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One network's engine running as a component instance.
///
/// Methods take `&mut self`: an instance runs one call at a time. Run one
/// `ComponentEngine` per network (tenant) and drive it from one thread at a
/// time (it is `Send`).
pub struct ComponentEngine {
    runtime: Runtime,
    store: Store<()>,
    world: bindings::Engine,
    handle: ResourceAny,
    poisoned: bool,
    /// The fuel each call gets (only with a runtime loaded with fuel).
    fuel_per_call: Option<u64>,
}

impl fmt::Debug for ComponentEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentEngine")
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

type Refusable<T> = Result<Result<T, ErrorBody>, HostError>;

impl ComponentEngine {
    /// An engine for an empty network, in a new instance.
    pub fn new(runtime: &Runtime) -> Result<Self, HostError> {
        let (mut store, world) = runtime.instantiate()?;
        let handle = world
            .enlace_engine_api()
            .engine()
            .call_constructor(&mut store)
            .map_err(HostError::Trap)?;
        Ok(ComponentEngine {
            runtime: runtime.clone(),
            store,
            world,
            handle,
            poisoned: false,
            fuel_per_call: runtime.fuel_per_call,
        })
    }

    /// An engine rebuilt from journal entries (oldest first), in a new
    /// instance. The component verifies the hash chain first.
    pub fn from_journal(runtime: &Runtime, entries: &[Entry]) -> Result<Self, HostError> {
        let entries: Vec<wit::Entry> = entries.iter().cloned().map(WitType::into_wit).collect();
        Self::built(runtime, |api, store| api.call_from_entries(store, &entries))
    }

    /// A new instance whose engine `make` builds from journal data.
    fn built(
        runtime: &Runtime,
        make: impl FnOnce(
            wit::GuestEngine<'_>,
            &mut Store<()>,
        ) -> wasmtime::Result<Result<ResourceAny, wit::Error>>,
    ) -> Result<Self, HostError> {
        let (mut store, world) = runtime.instantiate()?;
        let handle = make(world.enlace_engine_api().engine(), &mut store)
            .map_err(HostError::Trap)?
            .map_err(|e| HostError::Journal(lift_error(e)))?;
        Ok(ComponentEngine {
            runtime: runtime.clone(),
            store,
            world,
            handle,
            poisoned: false,
            fuel_per_call: runtime.fuel_per_call,
        })
    }

    /// An engine restored from a snapshot and the journal entries after it,
    /// in a new instance. The component checks that the entries continue
    /// the snapshot's chain.
    pub fn from_snapshot(
        runtime: &Runtime,
        snapshot: &[u8],
        tail: &[Entry],
    ) -> Result<Self, HostError> {
        let tail: Vec<wit::Entry> = tail.iter().cloned().map(WitType::into_wit).collect();
        Self::built(runtime, |api, store| {
            api.call_from_snapshot(store, snapshot, &tail)
        })
    }

    /// Replaces this instance with one restored from `snapshot` (or, with
    /// none, from the whole journal) plus `tail`. On failure the current
    /// instance is left as it was.
    pub fn restore(&mut self, snapshot: Option<&[u8]>, tail: &[Entry]) -> Result<(), HostError> {
        *self = match snapshot {
            Some(s) => ComponentEngine::from_snapshot(&self.runtime, s, tail)?,
            None => ComponentEngine::from_journal(&self.runtime, tail)?,
        };
        Ok(())
    }

    /// The engine's state as snapshot bytes.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, HostError> {
        self.call(|api, store, h| api.call_snapshot(store, h))
    }

    /// Lets the instance drop the entries up to `seq` (durable elsewhere).
    pub fn forget_through(&mut self, seq: u64) -> Result<(), HostError> {
        self.call(|api, store, h| api.call_forget_through(store, h, seq))
    }

    /// Seq of the last entry the instance no longer holds.
    pub fn base(&mut self) -> Result<u64, HostError> {
        self.call(|api, store, h| api.call_base(store, h))
    }

    /// Answers `query` over `entries` read from the journal; the engine
    /// decides which queries it answers that way, as natively.
    pub fn query_over(
        &mut self,
        actor: Actor,
        query: &Query,
        now: DateTime<Utc>,
        entries: &[Entry],
    ) -> Refusable<Answer> {
        let (actor, query, now) = (actor.into_wit(), query.clone().into_wit(), now.into_wit());
        let entries: Vec<wit::Entry> = entries.iter().cloned().map(WitType::into_wit).collect();
        let answer = self
            .call(|api, store, h| api.call_query_over(store, h, &actor, &query, &now, &entries))?;
        match answer {
            Ok(a) => Ok(Ok(Answer::from_wit(a)?)),
            Err(e) => Ok(Err(lift_error(e))),
        }
    }

    /// Changes the fuel of the following calls of this instance. Has an
    /// effect only when the runtime was loaded with
    /// [`Options::fuel_per_call`] (fuel metering is an engine setting).
    pub fn set_fuel_per_call(&mut self, fuel: u64) {
        if self.runtime.fuel_per_call.is_some() {
            self.fuel_per_call = Some(fuel);
        }
    }

    /// Replaces this instance with a fresh one holding exactly `entries`
    /// (read back from the durable journal): what to do after a trap. On
    /// failure the current instance is left as it was.
    pub fn rebuild_from_journal(&mut self, entries: &[Entry]) -> Result<(), HostError> {
        *self = ComponentEngine::from_journal(&self.runtime, entries)?;
        Ok(())
    }

    /// True after a trap: every call fails with [`HostError::Poisoned`]
    /// until [`ComponentEngine::rebuild_from_journal`].
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Runs one call into the instance; a failure poisons it.
    fn call<R>(
        &mut self,
        f: impl FnOnce(wit::GuestEngine<'_>, &mut Store<()>, ResourceAny) -> wasmtime::Result<R>,
    ) -> Result<R, HostError> {
        if self.poisoned {
            return Err(HostError::Poisoned);
        }
        if let Some(fuel) = self.fuel_per_call {
            self.store.set_fuel(fuel).map_err(HostError::Trap)?;
        }
        let api = self.world.enlace_engine_api().engine();
        f(api, &mut self.store, self.handle).map_err(|e| {
            self.poisoned = true;
            HostError::Trap(e)
        })
    }

    /// Executes a command: decides, records, applies. A refusal changes
    /// nothing. (One call into the instance, which also returns the new
    /// journal entry: this converts only the outcome.)
    pub fn execute(&mut self, request: Request) -> Refusable<Outcome> {
        let request = request.into_wit();
        match self.execute_wit(&request)? {
            Ok(wit::Executed::Recorded(entry)) => Ok(Ok(Outcome {
                seq: entry.seq,
                events: convert::lift(entry.events, "events")?,
                replayed: false,
            })),
            Ok(wit::Executed::Replayed(out)) => Ok(Ok(Outcome::from_wit(out)?)),
            Err(e) => Ok(Err(lift_error(e))),
        }
    }

    /// [`ComponentEngine::execute`], plus the journal entry to make durable
    /// before acknowledging the outcome (none for an idempotent retry): both
    /// come back from the same call.
    pub fn execute_recorded(&mut self, request: Request) -> Refusable<Executed> {
        let request = request.into_wit();
        match self.execute_wit(&request)? {
            Ok(wit::Executed::Recorded(entry)) => {
                let entry = Entry::from_wit(entry)?;
                let outcome = Outcome {
                    seq: entry.seq,
                    events: entry.events.clone(),
                    replayed: false,
                };
                Ok(Ok(Executed {
                    outcome,
                    entry: Some(entry),
                }))
            }
            Ok(wit::Executed::Replayed(out)) => Ok(Ok(Executed {
                outcome: Outcome::from_wit(out)?,
                entry: None,
            })),
            Err(e) => Ok(Err(lift_error(e))),
        }
    }

    /// Answers `query` for `actor` at instant `now`.
    pub fn query(&mut self, actor: Actor, query: Query, now: DateTime<Utc>) -> Refusable<Answer> {
        let (actor, query, now) = (actor.into_wit(), query.into_wit(), now.into_wit());
        match self.query_wit(&actor, &query, &now)? {
            Ok(answer) => Ok(Ok(Answer::from_wit(answer)?)),
            Err(e) => Ok(Err(lift_error(e))),
        }
    }

    /// `execute` with WIT values, without conversion to core types.
    pub fn execute_wit(
        &mut self,
        request: &wit::Request,
    ) -> Result<Result<wit::Executed, wit::Error>, HostError> {
        self.call(|api, store, h| api.call_execute(store, h, request))
    }

    /// `query` with WIT values, without conversion to core types.
    pub fn query_wit(
        &mut self,
        actor: &wit::Actor,
        query: &wit::Query,
        now: &wit::Instant,
    ) -> Result<Result<wit::Answer, wit::Error>, HostError> {
        self.call(|api, store, h| api.call_query(store, h, actor, query, now))
    }

    /// The journal's head hash (empty for an empty journal).
    pub fn head(&mut self) -> Result<String, HostError> {
        self.call(|api, store, h| api.call_head(store, h))
    }

    /// The seq of the journal's last entry (0 for an empty journal).
    pub fn seq(&mut self) -> Result<u64, HostError> {
        self.call(|api, store, h| api.call_seq(store, h))
    }

    /// Verifies the whole audit chain inside the component.
    pub fn verify(&mut self) -> Result<Verification, HostError> {
        let v = self.call(|api, store, h| api.call_verify(store, h))?;
        Ok(Verification::from_wit(v)?)
    }

    /// The journal entries after `seq`, oldest first.
    pub fn entries_after(&mut self, seq: u64) -> Result<Vec<Entry>, HostError> {
        let entries = self.call(|api, store, h| api.call_entries_after(store, h, seq))?;
        Ok(Vec::<Entry>::from_wit(entries)?)
    }

    /// The whole journal as JSON, exactly as native core serialises it.
    pub fn journal_json(&mut self) -> Result<String, HostError> {
        self.call(|api, store, h| api.call_journal_json(store, h))
    }

    /// The journal entries after `seq` as JSON.
    pub fn entries_after_json(&mut self, seq: u64) -> Result<String, HostError> {
        self.call(|api, store, h| api.call_entries_after_json(store, h, seq))
    }
}

/// The component's error record as core's error body.
fn lift_error(e: wit::Error) -> ErrorBody {
    // Infallible: an error record is strings only.
    ErrorBody {
        code: e.code,
        message: e.message,
        details: e.details.into_iter().collect(),
    }
}

/// The WIT types of the `enlace:engine/exchange` interface.
pub use bindings::exports::enlace::engine::exchange as wit_exchange;

/// An instance of the component for its `exchange` interface: seals and
/// their verification (pure functions, no engine state),
/// so that every face's answer can be compared with native core's.
pub struct ComponentExchange {
    store: Store<()>,
    world: bindings::Engine,
}

impl fmt::Debug for ComponentExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentExchange").finish_non_exhaustive()
    }
}

impl Runtime {
    /// A fresh instance for the `exchange` interface.
    pub fn exchange(&self) -> Result<ComponentExchange, HostError> {
        let (store, world) = self.instantiate()?;
        Ok(ComponentExchange { store, world })
    }
}

impl ComponentExchange {
    /// The seal of `payload` by the key of `seed`.
    pub fn seal_record(
        &mut self,
        seed: &[u8],
        payload: &[u8],
    ) -> Result<Result<String, ErrorBody>, HostError> {
        let out = self
            .world
            .enlace_engine_exchange()
            .call_seal_record(&mut self.store, seed, payload)
            .map_err(HostError::Trap)?;
        Ok(out.map_err(lift_error))
    }

    /// Which agency of `trust` sealed `payload`, at `at` (the seal only:
    /// the component does not read the record).
    pub fn verify_seal(
        &mut self,
        trust: &enlace_core::exchange::TrustList,
        seal: &str,
        payload: &[u8],
        at: DateTime<Utc>,
    ) -> Result<Result<enlace_core::exchange::Verified, ErrorBody>, HostError> {
        let peers: Vec<wit_exchange::Peer> = trust
            .peers
            .iter()
            .map(|p| wit_exchange::Peer {
                agency: p.agency.clone(),
                endpoint: p.endpoint.clone(),
                keys: p
                    .keys
                    .iter()
                    .map(|k| wit_exchange::PeerKey {
                        kid: k.kid.clone(),
                        x: k.x.clone(),
                        not_before: k.not_before.into_wit(),
                        not_after: k.not_after.into_wit(),
                        revoked_at: k.revoked_at.into_wit(),
                    })
                    .collect(),
            })
            .collect();
        let out = self
            .world
            .enlace_engine_exchange()
            .call_verify_seal(&mut self.store, &peers, seal, payload, &at.into_wit())
            .map_err(HostError::Trap)?;
        Ok(out
            .map(|s| enlace_core::exchange::Verified {
                agency: s.agency,
                kid: s.kid,
            })
            .map_err(lift_error))
    }

    /// SHA-256 of a payload, base64url.
    pub fn record_digest(&mut self, payload: &[u8]) -> Result<String, HostError> {
        self.world
            .enlace_engine_exchange()
            .call_record_digest(&mut self.store, payload)
            .map_err(HostError::Trap)
    }
}
