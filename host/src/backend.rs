//! The engine as the server sees it: one instance per tenant, driven by that
//! tenant's writer thread (see `commit/`).
//!
//! The server runs the engine as a WebAssembly component inside wasmtime
//! (`ComponentBackend`). [`NativeBackend`] runs the very same `enlace-core`
//! natively; it exists for comparison in the benchmarks and for `serve
//! --engine native`, and is documented as such. Both answer with the same
//! data, so nothing above this module knows which one it drives.

use chrono::{DateTime, Utc};
use enlace_core::{Actor, Answer, Engine, Entry, ErrorBody, ErrorKind, Outcome, Query, Request};

/// The instance failed in a way that is not a domain answer: a guest trap,
/// a panic, or a broken instance. The writer rebuilds it from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap(pub String);

impl std::fmt::Display for Trap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The engine refused a command or a query: a domain answer, with the class
/// the HTTP layer maps to a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: ErrorKind,
    pub body: ErrorBody,
}

impl From<enlace_core::Error> for Refusal {
    fn from(e: enlace_core::Error) -> Self {
        Refusal {
            kind: e.kind(),
            body: e.to_body(),
        }
    }
}

/// A command the engine accepted: the outcome for the client and, unless
/// the command was an idempotent retry, the new journal entry to persist.
#[derive(Debug, Clone)]
pub struct Executed {
    pub outcome: Outcome,
    pub entry: Option<Entry>,
}

/// What the writer thread needs of an engine instance.
pub trait EngineBackend: Send {
    /// `component` or `native`, for logs and metrics.
    fn name(&self) -> &'static str;

    /// Decides and applies one command. An `Ok(Err(_))` is a refusal (nothing
    /// changed); an `Err(_)` is a trap (the instance must be rebuilt).
    fn execute(&mut self, req: &Request) -> Result<Result<Executed, Refusal>, Trap>;

    /// Answers a query on the current state.
    fn query(
        &mut self,
        actor: &Actor,
        q: &Query,
        now: DateTime<Utc>,
    ) -> Result<Result<Answer, Refusal>, Trap>;

    /// Answers a query over `entries` the caller read from the durable
    /// journal (entries the instance let go), with the engine's rules; the
    /// engine decides which queries it answers that way.
    fn query_over(
        &mut self,
        actor: &Actor,
        q: &Query,
        now: DateTime<Utc>,
        entries: &[Entry],
    ) -> Result<Result<Answer, Refusal>, Trap>;

    /// Replaces the instance with a fresh one restored from `snapshot` (or
    /// from nothing) plus `tail`, which the caller has read from the
    /// durable journal. The chain of `tail` is verified on the way in. On
    /// failure the instance is left as it was.
    fn restore(&mut self, snapshot: Option<&[u8]>, tail: Vec<Entry>) -> anyhow::Result<()>;

    /// Replaces the instance with a fresh one holding exactly `entries`.
    fn rebuild(&mut self, entries: Vec<Entry>) -> anyhow::Result<()> {
        self.restore(None, entries)
    }

    /// The engine state as snapshot bytes.
    fn snapshot(&mut self) -> Result<Vec<u8>, Trap>;

    /// Lets the instance drop the entries up to `seq`, which are durable.
    fn forget_through(&mut self, seq: u64) -> Result<(), Trap>;

    /// The seq of the last entry applied.
    fn seq(&mut self) -> Result<u64, Trap>;
}

/// Factory the server uses to make one backend per tenant.
pub type BackendFactory =
    std::sync::Arc<dyn Fn() -> anyhow::Result<Box<dyn EngineBackend>> + Send + Sync>;

/// `enlace-core` run natively, in the server process.
#[derive(Debug, Default)]
pub struct NativeBackend {
    engine: Engine,
}

impl NativeBackend {
    pub fn new() -> Self {
        NativeBackend::default()
    }

    /// Applies entries another instance decided and made durable, after
    /// checking that they continue this engine's chain (a replica).
    pub fn follow(&mut self, entries: &[Entry]) -> anyhow::Result<()> {
        self.engine.follow(entries).map_err(|b| {
            anyhow::anyhow!(
                "entry seq {} does not continue the replica's chain: {}",
                b.seq,
                b.reason
            )
        })
    }
}

impl EngineBackend for NativeBackend {
    fn name(&self) -> &'static str {
        "native"
    }

    fn execute(&mut self, req: &Request) -> Result<Result<Executed, Refusal>, Trap> {
        Ok(match self.engine.execute(req.clone()) {
            Ok(outcome) => {
                let entry = if outcome.replayed {
                    None
                } else {
                    self.engine.journal().last().cloned()
                };
                Ok(Executed { outcome, entry })
            }
            Err(e) => Err(e.into()),
        })
    }

    fn query(
        &mut self,
        actor: &Actor,
        q: &Query,
        now: DateTime<Utc>,
    ) -> Result<Result<Answer, Refusal>, Trap> {
        Ok(self.engine.query(actor, q, now).map_err(Refusal::from))
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
            .query_over(actor, q, now, entries)
            .map_err(Refusal::from))
    }

    fn restore(&mut self, snapshot: Option<&[u8]>, tail: Vec<Entry>) -> anyhow::Result<()> {
        self.engine = match snapshot {
            Some(s) => Engine::from_snapshot(s, tail).map_err(|e| anyhow::anyhow!("{e}"))?,
            None => Engine::from_entries(tail).map_err(|b| {
                anyhow::anyhow!(
                    "journal does not verify at entry {} (seq {}): {}",
                    b.index,
                    b.seq,
                    b.reason
                )
            })?,
        };
        Ok(())
    }

    fn snapshot(&mut self) -> Result<Vec<u8>, Trap> {
        Ok(self.engine.snapshot())
    }

    fn forget_through(&mut self, seq: u64) -> Result<(), Trap> {
        self.engine.forget_through(seq);
        Ok(())
    }

    fn seq(&mut self) -> Result<u64, Trap> {
        Ok(self.engine.state().seq())
    }
}
