//! One writer per tenant, with group commit.
//!
//! Every command and query of a tenant goes through one channel to one
//! thread that owns the tenant's engine instance and journal. The thread
//! takes whatever has queued up (up to `max_batch` jobs) and then:
//!
//! 1. answers the queries of the batch on the committed state (waiting,
//!    if a batch is still being committed, until it is);
//! 2. decides and applies each command in the engine, in arrival order,
//!    collecting the new journal entries;
//! 3. hands the entries and the answers to the tenant's committer thread,
//!    which writes them in one SQLite transaction, waits for it to be
//!    durable (one fsync for the whole batch), and only then answers every
//!    command of the batch.
//!
//! The writer decides the next batch while the committer waits for the
//! previous one's fsync, so deciding and committing overlap; at most one
//! batch waits behind the one being committed (back-pressure).
//!
//! If the commit fails, no command of the batch is acknowledged (each gets
//! `commit_failed`), nor of any batch decided after it (they were decided on
//! its state), and the engine is rebuilt from the durable journal, so
//! memory never runs ahead of the disk. If the engine traps, the request that
//! made it trap gets `engine_trap`, what the batch decided before the trap is
//! committed as usual, and the instance is rebuilt from the journal before
//! the next command is decided.
//!
//! # Snapshots
//!
//! A snapshot thread per tenant keeps a replica of the engine (native core)
//! that follows every batch the committer makes durable, verifying the hash
//! chain as it goes, and writes a snapshot of it and of the feed index to
//! the tenant's snapshot file (`crate::snapshot`) every `snapshot_every`
//! entries and at a graceful stop; the writer never pauses for one. Once a
//! snapshot is durable the engine lets go of the entries it covers, so
//! memory stays bounded; what needs them then reads the journal: an
//! idempotent retry of an old key gets its events from the journal, an
//! audit trail pages through it with the engine's rules (`query_over`), and
//! `verify_audit` verifies the whole durable chain on a reader thread.
//! Start-up and rebuilds restore the newest snapshot that agrees with the
//! journal plus the entries after it, and replay the whole journal only
//! when there is none.
//!
//! # Modules
//!
//! - this module: what the rest of the host uses ([`Writer`], [`Job`],
//!   [`Reply`], [`WriterStats`]);
//! - `writer`: the writer thread's batch loop, traps and rebuilds;
//! - `committer`: the committer thread (group commit);
//! - `snapshots`: the snapshot thread and its replica;
//! - `restore`: start-up and rebuilds from a snapshot and the journal;
//! - `history`: what reads the journal once the engine let it go (audit
//!   trails, `verify_audit`, retries of old keys), through the one paged
//!   reader, `crate::journal::Pages`.

mod committer;
mod history;
mod restore;
mod snapshots;
#[cfg(test)]
mod tests;
mod writer;

use crate::backend::{EngineBackend, Refusal};
use crate::journal::Journal;
use enlace_core::visibility::Visibility;
use enlace_core::{Actor, Answer, Command, Outcome, Query};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use writer::WriterState;

/// What the writer answers.
#[derive(Debug)]
pub enum Reply {
    /// The command is durable (or was an idempotent retry of one that is).
    Done(Outcome),
    /// The engine refused the command or query; nothing changed.
    Refused(Refusal),
    /// A query's answer.
    Answer(Answer),
    /// The engine trapped on this request; the instance was rebuilt.
    Trapped(String),
    /// The batch could not be made durable; nothing of it is acknowledged.
    CommitFailed(String),
    /// The tenant cannot serve (its journal failed to load).
    Unavailable(String),
}

/// A unit of work for the writer.
#[derive(Debug)]
pub enum Job {
    Command {
        actor: Actor,
        key: Option<String>,
        command: Command,
        reply: oneshot::Sender<Reply>,
    },
    Query {
        actor: Actor,
        query: Query,
        reply: oneshot::Sender<Reply>,
    },
    /// Rebuild the instance from the journal now (operators, tests).
    Rebuild { reply: oneshot::Sender<Reply> },
    /// Finish the jobs queued before this one, then end the thread.
    Stop,
}

/// Counters the writer keeps for `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Entries in the durable journal.
    pub journal_len: AtomicU64,
    pub commits: AtomicU64,
    pub commit_failures: AtomicU64,
    pub traps: AtomicU64,
    pub rebuilds: AtomicU64,
    /// Batch-size histogram: counts of batches with ≤ 1, 2, 4, … 1024+ commands.
    pub batch_sizes: [AtomicU64; BATCH_BUCKETS.len() + 1],
    pub batch_commands: AtomicU64,
    pub commit_micros: AtomicU64,
    /// False once the journal failed to load: the tenant answers 503.
    pub healthy: AtomicBool,
    /// Entries the engine instance holds (after its base).
    pub held: AtomicU64,
    /// Seq of the newest durable snapshot (0: none).
    pub snapshot_seq: AtomicU64,
    pub snapshots: AtomicU64,
    pub snapshot_failures: AtomicU64,
    pub snapshot_bytes: AtomicU64,
    /// How long the snapshot thread took to serialize and write the
    /// newest snapshot (the writer never waits for it).
    pub snapshot_micros: AtomicU64,
}

/// Upper bounds of the batch-size histogram buckets.
pub const BATCH_BUCKETS: [u64; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

impl WriterStats {
    fn observe_batch(&self, n: u64) {
        let i = BATCH_BUCKETS
            .iter()
            .position(|&b| n <= b)
            .unwrap_or(BATCH_BUCKETS.len());
        self.batch_sizes[i].fetch_add(1, Ordering::Relaxed);
        self.batch_commands.fetch_add(n, Ordering::Relaxed);
    }
}

/// The shared view of a tenant's committed state that readers use.
#[derive(Debug)]
pub struct Shared {
    pub stats: WriterStats,
    /// Folded from every committed entry; see `enlace_core::visibility`.
    pub visibility: RwLock<Visibility>,
}

/// Settings of a writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    pub max_batch: usize,
    /// Entries between snapshots; 0: no snapshots (start-up replays the
    /// whole journal and the engine holds all of it).
    pub snapshot_every: u64,
}

/// Handle to a running writer thread.
#[derive(Debug)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    pub shared: Arc<Shared>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Writer {
    /// Restores `engine` from the newest usable snapshot and the journal
    /// after it (or from the whole journal), verifying the chain, and
    /// starts the writer thread. Fails if the journal does not verify.
    pub fn start(
        name: &str,
        engine: Box<dyn EngineBackend>,
        journal: Journal,
        config: WriterConfig,
    ) -> anyhow::Result<Writer> {
        let t0 = Instant::now();
        let shared = Arc::new(Shared {
            stats: WriterStats::default(),
            visibility: RwLock::new(Visibility::new()),
        });
        let mut state = WriterState::new(name, engine, journal, shared.clone(), config)?;
        let restored = state.restore()?;
        tracing::info!(
            tenant = name,
            entries = state.decided,
            engine = state.engine.name(),
            snapshot = restored.snapshot,
            replayed = restored.replayed,
            total_ms = t0.elapsed().as_millis() as u64,
            "tenant loaded"
        );
        shared.stats.healthy.store(true, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(config.max_batch.max(1) * 4);
        let thread = std::thread::Builder::new()
            .name(format!("writer-{name}"))
            .spawn(move || state.run(rx))?;
        Ok(Writer {
            tx,
            shared,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Queues a job; waits for room when the queue is full (back-pressure).
    pub async fn submit(&self, job: Job) -> bool {
        self.tx.send(job).await.is_ok()
    }

    /// Sends a command and waits for its durable answer.
    pub async fn command(&self, actor: Actor, key: Option<String>, command: Command) -> Reply {
        let (reply, rx) = oneshot::channel();
        if !self
            .submit(Job::Command {
                actor,
                key,
                command,
                reply,
            })
            .await
        {
            return Reply::Unavailable("the tenant is shutting down".into());
        }
        rx.await
            .unwrap_or_else(|_| Reply::Unavailable("the tenant writer stopped".into()))
    }

    /// Sends a query and waits for its answer.
    pub async fn query(&self, actor: Actor, query: Query) -> Reply {
        let (reply, rx) = oneshot::channel();
        if !self
            .submit(Job::Query {
                actor,
                query,
                reply,
            })
            .await
        {
            return Reply::Unavailable("the tenant is shutting down".into());
        }
        rx.await
            .unwrap_or_else(|_| Reply::Unavailable("the tenant writer stopped".into()))
    }

    /// Lets the writer finish every job queued so far (their commits
    /// included), then ends the thread and waits for it.
    pub fn stop(&self) {
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = self.tx.blocking_send(Job::Stop);
            let _ = h.join();
        }
    }
}
