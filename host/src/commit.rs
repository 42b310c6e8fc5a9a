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

use crate::backend::{EngineBackend, Refusal};
use crate::journal::{Journal, JournalReader};
use crate::snapshot::{Snapshot, SnapshotStore};
use chrono::{DateTime, Utc};
use enlace_core::query::MAX_AUDIT_ENTRIES;
use enlace_core::visibility::Visibility;
use enlace_core::{Actor, Answer, Command, Entry, Outcome, Query, Request};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

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

/// Entries read from the journal per page, for audit trails and
/// verification of history the engine let go.
const PAGE: u64 = 2_000;

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

struct WriterState {
    tenant: String,
    engine: Box<dyn EngineBackend>,
    /// Reads of the committed journal (start-up, history).
    reader: JournalReader,
    /// Appends: the committer thread owns the journal's write connection.
    committer: Committer,
    /// Seq of the last entry decided (committed or handed to the committer).
    decided: u64,
    shared: Arc<Shared>,
    last_at: DateTime<Utc>,
    config: WriterConfig,
    /// Seq of the last entry the engine let go: older entries are read
    /// from the journal.
    base: u64,
    /// The snapshot file, for restoring (None: snapshots are off).
    snapshots: Option<SnapshotStore>,
    /// The background thread that follows the committed journal and writes
    /// snapshots.
    snapshotter: Option<Snapshotter>,
}

/// What the writer hands its committer, in order.
enum ToCommit {
    /// Entries to make durable, then the answers to send.
    Batch {
        entries: Vec<Entry>,
        pending: Vec<Pending>,
    },
    /// Answered once everything handed over before it is done.
    Barrier(std::sync::mpsc::SyncSender<()>),
    /// The writer rebuilt the engine from the journal: commit again.
    Reset,
    #[cfg(test)]
    QueryOnly(bool),
}

/// The tenant's committer thread: appends each batch in one transaction and
/// answers its commands once it is durable. After a failed commit it
/// refuses every batch until the writer has rebuilt the engine (`Reset`):
/// those batches were decided on state that never became durable.
#[derive(Debug)]
struct Committer {
    tx: Option<std::sync::mpsc::SyncSender<ToCommit>>,
    /// Set by a failed commit; the writer rebuilds and resets.
    failed: Arc<AtomicBool>,
    /// A batch with entries was handed over since the last barrier.
    in_flight: bool,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for ToCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToCommit::Batch { entries, .. } => write!(f, "Batch({} entries)", entries.len()),
            ToCommit::Barrier(_) => f.write_str("Barrier"),
            ToCommit::Reset => f.write_str("Reset"),
            #[cfg(test)]
            ToCommit::QueryOnly(on) => write!(f, "QueryOnly({on})"),
        }
    }
}

impl Committer {
    fn start(
        tenant: &str,
        mut journal: Journal,
        shared: Arc<Shared>,
        follower: Option<std::sync::mpsc::Sender<ToSnapshot>>,
    ) -> anyhow::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<ToCommit>(1);
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        let tenant = tenant.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("commit-{tenant}"))
            .spawn(move || {
                let mut refusing = false;
                for msg in rx {
                    match msg {
                        ToCommit::Batch { entries, pending } => {
                            if refusing {
                                fail_all(pending);
                                continue;
                            }
                            if let Err(e) = commit(&mut journal, &shared, &entries) {
                                let msg = format!("{e:#}");
                                tracing::error!(tenant = %tenant, error = %msg, commands = pending.len(), "commit failed; nothing of the batch is acknowledged");
                                shared.stats.commit_failures.fetch_add(1, Ordering::Relaxed);
                                fail_all(pending);
                                refusing = true;
                                flag.store(true, Ordering::Release);
                                continue;
                            }
                            for p in pending {
                                let _ = p.reply.send(p.answer);
                            }
                            if let Some(f) = &follower
                                && !entries.is_empty()
                            {
                                let _ = f.send(ToSnapshot::Committed(entries));
                            }
                        }
                        ToCommit::Barrier(done) => {
                            let _ = done.send(());
                        }
                        ToCommit::Reset => {
                            refusing = false;
                            flag.store(false, Ordering::Release);
                        }
                        #[cfg(test)]
                        ToCommit::QueryOnly(on) => {
                            let _ = journal.set_read_only_for_tests(on);
                        }
                    }
                }
            })?;
        Ok(Committer {
            tx: Some(tx),
            failed,
            in_flight: false,
            thread: Some(thread),
        })
    }

    fn send(&mut self, msg: ToCommit) {
        if let ToCommit::Batch { entries, .. } = &msg
            && !entries.is_empty()
        {
            self.in_flight = true;
        }
        if let Some(tx) = &self.tx
            && let Err(std::sync::mpsc::SendError(msg)) = tx.send(msg)
            && let ToCommit::Batch { pending, .. } = msg
        {
            // The committer is gone (it panicked): nothing is durable.
            fail_all(pending);
        }
    }

    /// Waits until everything handed over so far is committed (or failed).
    fn settle(&mut self) {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        self.send(ToCommit::Barrier(done));
        let _ = wait.recv();
        self.in_flight = false;
    }

    fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Commits what was handed over, then ends the thread.
    fn finish(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers `commit_failed` to every command of a batch that is not durable.
fn fail_all(pending: Vec<Pending>) {
    for p in pending {
        let _ = p.reply.send(Reply::CommitFailed(
            "the journal could not be written; the command was not applied".into(),
        ));
    }
}

/// Makes `entries` durable in one transaction and updates what readers see.
fn commit(journal: &mut Journal, shared: &Shared, entries: &[Entry]) -> anyhow::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let t0 = Instant::now();
    journal.append(entries)?;
    let stats = &shared.stats;
    stats
        .commit_micros
        .fetch_add(t0.elapsed().as_micros() as u64, Ordering::Relaxed);
    stats.commits.fetch_add(1, Ordering::Relaxed);
    {
        let mut v = shared.visibility.write().unwrap_or_else(|p| p.into_inner());
        for e in entries {
            v.observe(e);
        }
    }
    stats.journal_len.store(journal.len(), Ordering::Relaxed);
    Ok(())
}

/// How an engine instance was restored.
#[derive(Debug, Clone)]
struct Restored {
    /// The snapshot's seq, if one was used.
    snapshot: Option<u64>,
    /// Journal entries applied on top of it (or replayed from the start).
    replayed: u64,
    /// The feed index, restored alike.
    visibility: Visibility,
}

/// Restores `engine` from the newest snapshot that agrees with the journal
/// and the entries after it, or from the whole journal when no snapshot is
/// usable; rebuilds the feed index alike.
fn restore(
    tenant: &str,
    engine: &mut dyn EngineBackend,
    reader: &JournalReader,
    snapshots: Option<&SnapshotStore>,
) -> anyhow::Result<Restored> {
    let last = reader.len()?;
    let candidates = match snapshots {
        Some(st) => st.candidates(last)?,
        None => Vec::new(),
    };
    for seq in candidates {
        let Some(store) = snapshots else { break };
        match restore_from(engine, reader, store, seq) {
            Ok(r) => return Ok(r),
            Err(e) => {
                tracing::warn!(tenant, seq, error = %format!("{e:#}"), "snapshot not used; trying an older one or the whole journal")
            }
        }
    }
    let entries = reader.load_all()?;
    let visibility = Visibility::from_entries(&entries);
    let n = entries.len() as u64;
    engine.rebuild(entries)?;
    Ok(Restored {
        snapshot: None,
        replayed: n,
        visibility,
    })
}

/// Restores from the snapshot at `seq`, which must agree with the journal:
/// its head is the hash of journal entry `seq`.
fn restore_from(
    engine: &mut dyn EngineBackend,
    reader: &JournalReader,
    store: &SnapshotStore,
    seq: u64,
) -> anyhow::Result<Restored> {
    let snap = store.load(seq)?;
    if reader.hash_at(seq)?.as_deref() != Some(snap.head.as_str()) {
        anyhow::bail!("its head is not the hash of journal entry {seq}");
    }
    let mut visibility = Visibility::from_snapshot(&snap.visibility)?;
    if visibility.seq() != seq {
        anyhow::bail!(
            "its feed index stands at seq {}, not {seq}",
            visibility.seq()
        );
    }
    let tail = reader.read_after(seq, u64::MAX)?;
    for e in &tail {
        visibility.observe(e);
    }
    let n = tail.len() as u64;
    engine.restore(Some(&snap.engine), tail)?;
    let at = engine.seq().map_err(|t| anyhow::anyhow!("{t}"))?;
    let last = reader.len()?;
    if at != last {
        anyhow::bail!("the restored engine stands at seq {at}, the journal at {last}");
    }
    Ok(Restored {
        snapshot: Some(seq),
        replayed: n,
        visibility,
    })
}

/// The snapshot thread: a replica of the tenant's engine (native core, as
/// `NativeBackend`) that follows the committed journal, entry by entry as
/// the committer makes them durable, verifying the chain as it goes, and
/// writes a snapshot of itself every `snapshot_every` entries and when the
/// writer stops. The writer never pauses for a snapshot: it only lets its
/// engine go of the entries the newest snapshot covers. A replica folds
/// entries the engine decided (`State::apply_entry`, which never decides),
/// in the very format the component reads back.
#[derive(Debug)]
struct Snapshotter {
    tx: Option<std::sync::mpsc::Sender<ToSnapshot>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the committer (and tests) send the snapshot thread.
#[derive(Debug)]
enum ToSnapshot {
    /// Entries just made durable.
    Committed(Vec<Entry>),
    /// Answered once everything sent before it is followed.
    #[cfg_attr(not(test), allow(dead_code))]
    Barrier(std::sync::mpsc::SyncSender<()>),
}

impl Snapshotter {
    fn start(
        tenant: &str,
        journal: PathBuf,
        path: PathBuf,
        shared: Arc<Shared>,
        every: u64,
    ) -> anyhow::Result<Snapshotter> {
        let (tx, rx) = std::sync::mpsc::channel::<ToSnapshot>();
        let tenant = tenant.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("snapshot-{tenant}"))
            .spawn(move || {
                if let Err(e) = follow(&tenant, &journal, &path, &shared, every, rx) {
                    shared.stats.snapshot_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(tenant = %tenant, error = %format!("{e:#}"), "the snapshot thread stopped; start-up will replay more of the journal");
                }
            })?;
        Ok(Snapshotter {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Waits until everything sent so far is followed (and written).
    #[cfg(test)]
    fn sync(&self) {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        if let Some(tx) = &self.tx
            && tx.send(ToSnapshot::Barrier(done)).is_ok()
        {
            let _ = wait.recv();
        }
    }

    /// Follows what was sent, writes a last snapshot, ends the thread.
    fn finish(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Drop for Snapshotter {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The snapshot thread's work: restore the replica as the writer restores
/// its engine, then follow and snapshot until the channel closes.
fn follow(
    tenant: &str,
    journal: &std::path::Path,
    path: &std::path::Path,
    shared: &Shared,
    every: u64,
    rx: std::sync::mpsc::Receiver<ToSnapshot>,
) -> anyhow::Result<()> {
    use crate::backend::NativeBackend;
    let mut store = SnapshotStore::open(path)?;
    let reader = JournalReader::open(journal)?;
    let mut replica = NativeBackend::new();
    let restored = restore(tenant, &mut replica, &reader, Some(&store))?;
    let mut last = restored.snapshot.unwrap_or(0);
    let mut visibility = restored.visibility;
    let mut seq = visibility.seq();
    let mut head = reader.hash_at(seq)?.unwrap_or_default();
    shared.stats.snapshot_seq.store(last, Ordering::Relaxed);
    replica
        .forget_through(seq)
        .map_err(|t| anyhow::anyhow!("{t}"))?;
    let mut write = |replica: &mut NativeBackend, visibility: &Visibility, seq: u64, head: &str| {
        let t0 = Instant::now();
        let snap = Snapshot {
            seq,
            head: head.to_owned(),
            engine: replica.snapshot().unwrap_or_default(),
            visibility: visibility.snapshot(),
        };
        let bytes = (snap.engine.len() + snap.visibility.len()) as u64;
        let stats = &shared.stats;
        match store.save(&snap) {
            Ok(()) => {
                stats.snapshots.fetch_add(1, Ordering::Relaxed);
                stats.snapshot_bytes.store(bytes, Ordering::Relaxed);
                stats
                    .snapshot_micros
                    .store(t0.elapsed().as_micros() as u64, Ordering::Relaxed);
                stats.snapshot_seq.store(seq, Ordering::Relaxed);
                tracing::info!(tenant = %tenant, seq, bytes, ms = t0.elapsed().as_millis() as u64, "snapshot written");
                true
            }
            Err(e) => {
                stats.snapshot_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(tenant = %tenant, seq, error = %format!("{e:#}"), "snapshot not written; start-up will replay more of the journal");
                false
            }
        }
    };
    for msg in rx {
        let entries = match msg {
            ToSnapshot::Committed(entries) => entries,
            ToSnapshot::Barrier(done) => {
                let _ = done.send(());
                continue;
            }
        };
        // The replica read the journal at start-up: skip what it has.
        let fresh: Vec<Entry> = entries.into_iter().filter(|e| e.seq > seq).collect();
        let Some(end) = fresh.last().map(|e| (e.seq, e.hash.clone())) else {
            continue;
        };
        replica.follow(&fresh)?;
        for e in &fresh {
            visibility.observe(e);
        }
        replica
            .forget_through(end.0)
            .map_err(|t| anyhow::anyhow!("{t}"))?;
        (seq, head) = end;
        if seq >= last + every && write(&mut replica, &visibility, seq, &head) {
            last = seq;
        }
    }
    if seq > last {
        write(&mut replica, &visibility, seq, &head);
    }
    Ok(())
}

/// A command decided in the current batch, waiting for the commit.
struct Pending {
    reply: oneshot::Sender<Reply>,
    answer: Reply,
}

impl WriterState {
    /// A writer over `journal`; call `restore` before processing jobs.
    fn new(
        tenant: &str,
        engine: Box<dyn EngineBackend>,
        journal: Journal,
        shared: Arc<Shared>,
        config: WriterConfig,
    ) -> anyhow::Result<Self> {
        let reader = JournalReader::open(journal.path())?;
        let (snapshots, snapshotter) = if config.snapshot_every > 0 {
            let path = crate::snapshot::path_beside(journal.path());
            (
                Some(SnapshotStore::open(&path)?),
                Some(Snapshotter::start(
                    tenant,
                    journal.path().to_owned(),
                    path,
                    shared.clone(),
                    config.snapshot_every,
                )?),
            )
        } else {
            (None, None)
        };
        let follower = snapshotter.as_ref().and_then(|s| s.tx.clone());
        let committer = Committer::start(tenant, journal, shared.clone(), follower)?;
        Ok(WriterState {
            tenant: tenant.to_owned(),
            engine,
            reader,
            committer,
            decided: 0,
            shared,
            last_at: DateTime::<Utc>::MIN_UTC,
            config,
            base: 0,
            snapshots,
            snapshotter,
        })
    }

    fn run(&mut self, mut rx: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(self.config.max_batch);
        let mut stop = false;
        while !stop && let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < self.config.max_batch {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            if let Some(i) = batch.iter().position(|j| matches!(j, Job::Stop)) {
                // Jobs queued after the stop are dropped: their senders get
                // "writer stopped".
                batch.truncate(i);
                stop = true;
            }
            self.process(&mut batch);
        }
        self.shutdown();
        tracing::info!(tenant = %self.tenant, "writer stopped");
    }

    /// Commits what was handed over, then lets the snapshot thread follow
    /// it and write a last snapshot, so that the next start-up replays
    /// nothing.
    fn shutdown(&mut self) {
        self.committer.finish();
        if let Some(mut s) = self.snapshotter.take() {
            s.finish();
        }
    }

    /// The decision time of the next command: the clock, never earlier than
    /// the last entry's time, so journal times never go backwards.
    fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now().max(self.last_at);
        self.last_at = now;
        now
    }

    fn process(&mut self, batch: &mut Vec<Job>) {
        if !self.shared.stats.healthy.load(Ordering::Relaxed) {
            for job in batch.drain(..) {
                let reply = match job {
                    Job::Command { reply, .. } | Job::Query { reply, .. } => reply,
                    Job::Stop => continue,
                    Job::Rebuild { reply } => {
                        self.rebuild_on_request(reply);
                        continue;
                    }
                };
                let _ = reply.send(Reply::Unavailable(
                    "the tenant's journal failed to load; see the server log".into(),
                ));
            }
            return;
        }
        // A failed commit: rebuild before deciding on state it never made
        // durable.
        if self.committer.has_failed() {
            self.rebuild("commit failed");
        }
        // Queries first: they see exactly the committed state, so they wait
        // for a batch still being committed.
        if self.committer.in_flight && batch.iter().any(|j| matches!(j, Job::Query { .. })) {
            self.committer.settle();
            if self.committer.has_failed() {
                self.rebuild("commit failed");
            }
        }
        let mut commands = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            match job {
                Job::Query {
                    actor,
                    query,
                    reply,
                } => {
                    self.answer(actor, query, reply);
                }
                Job::Rebuild { reply } => self.rebuild_on_request(reply),
                cmd @ Job::Command { .. } => commands.push(cmd),
                Job::Stop => {}
            }
        }
        let n = commands.len() as u64;
        if n == 0 {
            return;
        }
        self.shared.stats.observe_batch(n);
        let mut pending: Vec<Pending> = Vec::with_capacity(commands.len());
        let mut entries: Vec<Entry> = Vec::new();
        for job in commands {
            let Job::Command {
                actor,
                key,
                command,
                reply,
            } = job
            else {
                continue;
            };
            let req = Request {
                actor,
                at: self.now(),
                key,
                command,
            };
            let answer = match self.engine.execute(&req) {
                Ok(Ok(ex)) => {
                    if let Some(e) = ex.entry {
                        self.decided = e.seq;
                        entries.push(e);
                    }
                    self.with_events(ex.outcome)
                }
                Ok(Err(refusal)) => Reply::Refused(refusal),
                Err(trap) => {
                    tracing::error!(tenant = %self.tenant, command = req.command.name(), trap = %trap, "engine trapped");
                    // Make what the healthy instance decided durable first,
                    // then start again from the journal.
                    pending.push(Pending {
                        reply,
                        answer: Reply::Trapped(trap.0.clone()),
                    });
                    self.committer.send(ToCommit::Batch {
                        entries: std::mem::take(&mut entries),
                        pending: std::mem::take(&mut pending),
                    });
                    self.on_trap(&trap.0);
                    continue;
                }
            };
            pending.push(Pending { reply, answer });
        }
        self.committer.send(ToCommit::Batch { entries, pending });
        self.after_commits();
    }

    /// Answers a query on the committed state. Audit queries over history
    /// the engine let go read the journal.
    fn answer(&mut self, actor: Actor, query: Query, reply: oneshot::Sender<Reply>) {
        let now = Utc::now();
        let history = match &query {
            Query::AuditTrail { after, .. } => *after < self.base,
            Query::VerifyAudit => self.base > 0,
            _ => false,
        };
        let answer = match self.engine.query(&actor, &query, now) {
            Ok(Ok(a)) if !history => Reply::Answer(a),
            // The engine authorized the actor; the answer needs history.
            Ok(Ok(a)) => match query {
                Query::VerifyAudit => return self.verify_durable(reply),
                _ => self
                    .audit_trail(&actor, &query, now)
                    .unwrap_or(Reply::Answer(a)),
            },
            Ok(Err(r)) => Reply::Refused(r),
            Err(trap) => {
                self.on_trap(&trap.0);
                Reply::Trapped(trap.0)
            }
        };
        let _ = reply.send(answer);
    }

    /// An audit trail that starts in history the engine let go: pages
    /// through the journal up to the base with `query_over`, then asks the
    /// engine for the rest, as one answer of at most `limit` entries.
    fn audit_trail(&mut self, actor: &Actor, query: &Query, now: DateTime<Utc>) -> Option<Reply> {
        let Query::AuditTrail {
            facility,
            referral,
            after,
            limit,
        } = query
        else {
            return None;
        };
        let want = (*limit).clamp(1, MAX_AUDIT_ENTRIES) as usize;
        let ask = |after: u64, got: usize| Query::AuditTrail {
            facility: facility.clone(),
            referral: *referral,
            after,
            limit: (want - got) as u32,
        };
        let mut found: Vec<Entry> = Vec::new();
        let mut cursor = *after;
        while cursor < self.base && found.len() < want {
            let page = match self.reader.read_after(cursor, PAGE.min(self.base - cursor)) {
                Ok(p) if !p.is_empty() => p,
                Ok(_) => break,
                Err(e) => return Some(Reply::Unavailable(format!("reading the journal: {e:#}"))),
            };
            cursor = page.last().map_or(cursor, |e| e.seq);
            let answer = self
                .engine
                .query_over(actor, &ask(*after, found.len()), now, &page);
            if let Some(stop) = self.gather(answer, &mut found) {
                return Some(stop);
            }
        }
        if found.len() < want {
            let rest = ask(cursor.max(self.base), found.len());
            let answer = self.engine.query(actor, &rest, now);
            if let Some(stop) = self.gather(answer, &mut found) {
                return Some(stop);
            }
        }
        Some(Reply::Answer(Answer::Entries(found)))
    }

    /// Adds the entries of an audit-trail answer to `found`; a refusal or a
    /// trap is the reply instead.
    fn gather(
        &mut self,
        answer: Result<Result<Answer, Refusal>, crate::backend::Trap>,
        found: &mut Vec<Entry>,
    ) -> Option<Reply> {
        match answer {
            Ok(Ok(Answer::Entries(es))) => {
                found.extend(es);
                None
            }
            Ok(Ok(_)) => None,
            Ok(Err(r)) => Some(Reply::Refused(r)),
            Err(trap) => {
                self.on_trap(&trap.0);
                Some(Reply::Trapped(trap.0))
            }
        }
    }

    /// `verify_audit` once the engine let history go: verifies the whole
    /// durable chain, up to the last committed entry, on a reader thread so
    /// that commands go on meanwhile.
    fn verify_durable(&self, reply: oneshot::Sender<Reply>) {
        let path = self.reader.path().to_owned();
        let last = self.shared.stats.journal_len.load(Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name(format!("verify-{}", self.tenant))
            .spawn(move || {
                let verified = crate::journal::verify_file(&path, Some(last), |_| {});
                let _ = reply.send(match verified {
                    Ok(v) => Reply::Answer(Answer::Verification(v)),
                    Err(e) => Reply::Unavailable(format!("reading the journal: {e:#}")),
                });
            });
        if let Err(e) = spawned {
            tracing::error!(tenant = %self.tenant, error = %e, "could not start the verification thread");
        }
    }

    /// An idempotent retry of an entry the engine let go carries no
    /// events: they are read back from the journal.
    fn with_events(&self, mut outcome: Outcome) -> Reply {
        if outcome.replayed && outcome.seq <= self.base && outcome.events.is_empty() {
            match self.reader.entry(outcome.seq) {
                Ok(Some(e)) => outcome.events = e.events,
                Ok(None) => {
                    return Reply::Unavailable(format!("journal entry {} is missing", outcome.seq));
                }
                Err(e) => return Reply::Unavailable(format!("reading the journal: {e:#}")),
            }
        }
        Reply::Done(outcome)
    }

    /// After a batch: lets the engine go of what the newest durable
    /// snapshot covers.
    fn after_commits(&mut self) {
        let durable = self.shared.stats.snapshot_seq.load(Ordering::Relaxed);
        let committed = self.shared.stats.journal_len.load(Ordering::Relaxed);
        if durable > self.base && durable <= committed {
            match self.engine.forget_through(durable) {
                Ok(()) => self.base = durable,
                Err(trap) => self.on_trap(&trap.0),
            }
        }
        self.shared
            .stats
            .held
            .store(self.decided - self.base, Ordering::Relaxed);
    }

    /// A rebuild asked for by a job: answered with an empty answer once the
    /// engine holds the journal again, or `Unavailable` when it does not load.
    fn rebuild_on_request(&mut self, reply: oneshot::Sender<Reply>) {
        let ok = self.rebuild("requested");
        let _ = reply.send(if ok {
            Reply::Answer(Answer::Entries(Vec::new()))
        } else {
            Reply::Unavailable("the journal does not load".into())
        });
    }

    fn on_trap(&mut self, why: &str) {
        self.shared.stats.traps.fetch_add(1, Ordering::Relaxed);
        self.rebuild(why);
    }

    /// Restores the engine as at start-up (see [`restore`]).
    fn restore(&mut self) -> anyhow::Result<Restored> {
        let mut r = restore(
            &self.tenant,
            self.engine.as_mut(),
            &self.reader,
            self.snapshots.as_ref(),
        )?;
        let visibility = std::mem::take(&mut r.visibility);
        self.install(visibility, r.snapshot.unwrap_or(0));
        Ok(r)
    }

    fn install(&mut self, v: Visibility, base: u64) {
        self.decided = v.seq();
        *self
            .shared
            .visibility
            .write()
            .unwrap_or_else(|p| p.into_inner()) = v;
        self.base = base;
        let stats = &self.shared.stats;
        stats.journal_len.store(self.decided, Ordering::Relaxed);
        stats.held.store(self.decided - base, Ordering::Relaxed);
    }

    /// Rebuilds the engine from the newest snapshot and the durable
    /// journal. Returns false (and marks the tenant unhealthy) if that fails.
    fn rebuild(&mut self, why: &str) -> bool {
        self.shared.stats.rebuilds.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        // Everything handed over is committed or failed before the journal
        // is read back; then the committer may commit again.
        self.committer.settle();
        let restored = self.restore();
        self.committer.send(ToCommit::Reset);
        match restored {
            Ok(r) => {
                self.shared.stats.healthy.store(true, Ordering::Relaxed);
                tracing::warn!(tenant = %self.tenant, why, snapshot = r.snapshot, replayed = r.replayed, ms = t0.elapsed().as_millis() as u64, "engine rebuilt");
                true
            }
            Err(e) => {
                self.shared.stats.healthy.store(false, Ordering::Relaxed);
                tracing::error!(tenant = %self.tenant, why, error = %format!("{e:#}"), "engine rebuild failed; the tenant is unavailable");
                false
            }
        }
    }

    #[cfg(test)]
    fn journal(&self) -> &JournalReader {
        &self.reader
    }

    /// `process`, then waits for the commit (and the rebuild a failed one
    /// calls for), so that a test sees the answers.
    #[cfg(test)]
    fn process_settled(&mut self, batch: &mut Vec<Job>) {
        self.process(batch);
        self.committer.settle();
        if self.committer.has_failed() {
            self.rebuild("commit failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Executed, NativeBackend, Trap};
    use enlace_core::{ErrorKind, Role};

    fn holiday(i: u32) -> Command {
        Command::DeclareHoliday {
            date: "2026-05-01".parse().unwrap(),
            name: format!("Holiday {i}"),
        }
    }

    fn admin() -> Actor {
        Actor::new("ana", "ministry", None, Role::Admin)
    }

    fn state(dir: &std::path::Path, engine: Box<dyn EngineBackend>) -> WriterState {
        state_with(dir, engine, 0)
    }

    /// A writer state on `dir`, restored as at start-up, snapshotting every
    /// `snapshot_every` entries (0: never).
    fn state_with(
        dir: &std::path::Path,
        engine: Box<dyn EngineBackend>,
        snapshot_every: u64,
    ) -> WriterState {
        let journal = Journal::open(&dir.join("j.sqlite")).unwrap();
        let shared = Arc::new(Shared {
            stats: WriterStats::default(),
            visibility: RwLock::new(Visibility::new()),
        });
        let config = WriterConfig {
            max_batch: 64,
            snapshot_every,
        };
        let mut w = WriterState::new("t", engine, journal, shared, config).unwrap();
        w.restore().unwrap();
        w.shared.stats.healthy.store(true, Ordering::Relaxed);
        w
    }

    fn command(actor: Actor, key: Option<&str>, c: Command) -> (Job, oneshot::Receiver<Reply>) {
        let (reply, rx) = oneshot::channel();
        (
            Job::Command {
                actor,
                key: key.map(str::to_owned),
                command: c,
                reply,
            },
            rx,
        )
    }

    #[test]
    fn a_batch_is_one_transaction_and_retries_replay() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = state(dir.path(), Box::new(NativeBackend::new()));
        w.shared.stats.healthy.store(true, Ordering::Relaxed);
        let mut batch = Vec::new();
        let mut rxs = Vec::new();
        for i in 0..10 {
            let (j, rx) = command(admin(), Some(&format!("k{i}")), holiday(i));
            batch.push(j);
            rxs.push(rx);
        }
        // A retry inside the same batch, and a refusal.
        let (j, retry) = command(admin(), Some("k3"), holiday(3));
        batch.push(j);
        let clerk = Actor::new("c", "a", Some("F1"), Role::Clerk);
        let (j, refused) = command(clerk, None, holiday(99));
        batch.push(j);
        w.process_settled(&mut batch);
        assert_eq!(w.shared.stats.commits.load(Ordering::Relaxed), 1);
        assert_eq!(w.journal().len().unwrap(), 10);
        for (i, mut rx) in rxs.into_iter().enumerate() {
            match rx.try_recv().unwrap() {
                Reply::Done(o) => assert_eq!(o.seq, i as u64 + 1),
                other => panic!("{other:?}"),
            }
        }
        let mut retry = retry;
        match retry.try_recv().unwrap() {
            Reply::Done(o) => assert!(o.replayed && o.seq == 4),
            other => panic!("{other:?}"),
        }
        let mut refused = refused;
        match refused.try_recv().unwrap() {
            Reply::Refused(r) => assert_eq!(r.kind, ErrorKind::Forbidden),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failed_commit_acknowledges_nothing_and_memory_follows_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = state(dir.path(), Box::new(NativeBackend::new()));
        w.shared.stats.healthy.store(true, Ordering::Relaxed);
        let (j, mut first) = command(admin(), Some("a"), holiday(1));
        w.process_settled(&mut vec![j]);
        assert!(matches!(first.try_recv().unwrap(), Reply::Done(_)));
        w.committer.send(ToCommit::QueryOnly(true));
        let (j, mut failed) = command(admin(), Some("b"), holiday(2));
        w.process_settled(&mut vec![j]);
        assert!(matches!(failed.try_recv().unwrap(), Reply::CommitFailed(_)));
        assert_eq!(w.engine.seq().unwrap(), 1, "memory rebuilt from the disk");
        w.committer.send(ToCommit::QueryOnly(false));
        // The same key now executes afresh: it was never acknowledged.
        let (j, mut again) = command(admin(), Some("b"), holiday(2));
        w.process_settled(&mut vec![j]);
        match again.try_recv().unwrap() {
            Reply::Done(o) => assert!(!o.replayed && o.seq == 2),
            other => panic!("{other:?}"),
        }
    }

    /// A backend that traps on one particular command, like a guest bug.
    struct Trapping(NativeBackend);
    impl EngineBackend for Trapping {
        fn name(&self) -> &'static str {
            "trapping"
        }
        fn execute(&mut self, req: &Request) -> Result<Result<Executed, Refusal>, Trap> {
            if matches!(&req.command, Command::DeclareHoliday { name, .. } if name == "boom") {
                // Poison the instance as a trap would, then report it.
                let _ = self.0.execute(&Request {
                    key: None,
                    ..req.clone()
                });
                return Err(Trap("unreachable executed".into()));
            }
            self.0.execute(req)
        }
        fn query(
            &mut self,
            actor: &Actor,
            q: &Query,
            now: DateTime<Utc>,
        ) -> Result<Result<Answer, Refusal>, Trap> {
            self.0.query(actor, q, now)
        }
        fn query_over(
            &mut self,
            actor: &Actor,
            q: &Query,
            now: DateTime<Utc>,
            entries: &[Entry],
        ) -> Result<Result<Answer, Refusal>, Trap> {
            self.0.query_over(actor, q, now, entries)
        }
        fn restore(&mut self, snapshot: Option<&[u8]>, tail: Vec<Entry>) -> anyhow::Result<()> {
            self.0.restore(snapshot, tail)
        }
        fn snapshot(&mut self) -> Result<Vec<u8>, Trap> {
            self.0.snapshot()
        }
        fn forget_through(&mut self, seq: u64) -> Result<(), Trap> {
            self.0.forget_through(seq)
        }
        fn seq(&mut self) -> Result<u64, Trap> {
            self.0.seq()
        }
    }

    #[test]
    fn a_trap_fails_one_request_and_the_rest_of_the_batch_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = state(dir.path(), Box::new(Trapping(NativeBackend::new())));
        w.shared.stats.healthy.store(true, Ordering::Relaxed);
        let (a, mut ra) = command(admin(), None, holiday(1));
        let boom = Command::DeclareHoliday {
            date: "2026-05-01".parse().unwrap(),
            name: "boom".into(),
        };
        let (b, mut rb) = command(admin(), None, boom);
        let (c, mut rc) = command(admin(), None, holiday(3));
        w.process_settled(&mut vec![a, b, c]);
        assert!(matches!(ra.try_recv().unwrap(), Reply::Done(o) if o.seq == 1));
        assert!(matches!(rb.try_recv().unwrap(), Reply::Trapped(_)));
        assert!(matches!(rc.try_recv().unwrap(), Reply::Done(o) if o.seq == 2));
        assert_eq!(w.journal().len().unwrap(), 2);
        assert_eq!(w.shared.stats.traps.load(Ordering::Relaxed), 1);
        let all = w.journal().load_all().unwrap();
        assert!(enlace_core::verify(&all).broken.is_none());
    }

    /// Runs `n` keyed holiday commands, `per_batch` to a batch, and waits
    /// for the snapshot thread after each batch.
    fn run_holidays(w: &mut WriterState, from: u32, n: u32, per_batch: u32) {
        let mut i = from;
        while i < from + n {
            let mut batch = Vec::new();
            let mut rxs = Vec::new();
            for k in i..(i + per_batch).min(from + n) {
                let (j, rx) = command(admin(), Some(&format!("k{k}")), holiday(k));
                batch.push(j);
                rxs.push(rx);
            }
            i += per_batch;
            w.process_settled(&mut batch);
            for mut rx in rxs {
                assert!(matches!(rx.try_recv().unwrap(), Reply::Done(_)));
            }
            if let Some(s) = &w.snapshotter {
                s.sync();
            }
        }
    }

    fn ask(w: &mut WriterState, actor: Actor, query: Query) -> Reply {
        let (reply, mut rx) = oneshot::channel();
        w.process_settled(&mut vec![Job::Query {
            actor,
            query,
            reply,
        }]);
        for _ in 0..5000 {
            match rx.try_recv() {
                Ok(r) => return r,
                Err(oneshot::error::TryRecvError::Empty) => {
                    std::thread::sleep(std::time::Duration::from_millis(2))
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("no answer")
    }

    fn auditor() -> Actor {
        Actor::new("aud", "ministry", None, Role::Auditor)
    }

    /// Snapshots are written in the background, the engine lets go of what
    /// they cover, and what needs old entries reads them from the journal:
    /// retries, audit trails, verification. A restart restores the newest
    /// snapshot plus the tail, and answers exactly as the first writer did.
    #[test]
    fn snapshots_bound_memory_and_start_up_and_history_is_read_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = state_with(dir.path(), Box::new(NativeBackend::new()), 10);
        run_holidays(&mut w, 0, 47, 4);
        let stats = &w.shared.stats;
        let snap = stats.snapshot_seq.load(Ordering::Relaxed);
        assert!(snap >= 40, "a snapshot at {snap}");
        // The base follows the durable snapshot one batch later.
        run_holidays(&mut w, 47, 1, 1);
        assert_eq!(w.base, w.shared.stats.snapshot_seq.load(Ordering::Relaxed));
        assert!(w.shared.stats.held.load(Ordering::Relaxed) < 15);

        // A retry of a key the engine let go answers the original events.
        let first = w.journal().entry(1).unwrap().unwrap();
        let (j, mut rx) = command(admin(), Some("k0"), holiday(0));
        w.process_settled(&mut vec![j]);
        match rx.try_recv().unwrap() {
            Reply::Done(o) => assert!(o.replayed && o.seq == 1 && o.events == first.events),
            other => panic!("{other:?}"),
        }

        // The audit trail over history and the held part is the whole one.
        let all = w.journal().load_all().unwrap();
        let trail = |after, limit| Query::AuditTrail {
            facility: None,
            referral: None,
            after,
            limit,
        };
        match ask(&mut w, auditor(), trail(0, 1000)) {
            Reply::Answer(Answer::Entries(es)) => assert_eq!(es, all),
            other => panic!("{other:?}"),
        }
        match ask(&mut w, auditor(), trail(3, 5)) {
            Reply::Answer(Answer::Entries(es)) => assert_eq!(es, all[3..8]),
            other => panic!("{other:?}"),
        }
        match ask(&mut w, admin(), trail(0, 5)) {
            Reply::Refused(r) => assert_eq!(r.body.code, "not_permitted"),
            other => panic!("{other:?}"),
        }
        // Verification covers the whole durable chain, not just what is held.
        match ask(&mut w, auditor(), Query::VerifyAudit) {
            Reply::Answer(Answer::Verification(v)) => {
                assert!(v.broken.is_none());
                assert_eq!(v.entries, all.len() as u64);
            }
            other => panic!("{other:?}"),
        }
        let clerk = Actor::new("c", "a", Some("F1"), Role::Clerk);
        assert!(matches!(
            ask(&mut w, clerk, Query::VerifyAudit),
            Reply::Refused(_)
        ));

        // A graceful stop snapshots the rest; a restart replays nothing.
        let seq = w.journal().len().unwrap();
        w.shutdown();
        drop(w);
        let mut again = state_with(dir.path(), Box::new(NativeBackend::new()), 10);
        assert_eq!(again.base, seq);
        assert_eq!(again.engine.seq().unwrap(), seq);
        let (j, mut rx) = command(admin(), Some("k5"), holiday(5));
        again.process_settled(&mut vec![j]);
        assert!(
            matches!(rx.try_recv().unwrap(), Reply::Done(o) if o.replayed && o.seq == 6 && !o.events.is_empty())
        );
        let (j, mut rx) = command(admin(), Some("new"), holiday(99));
        again.process_settled(&mut vec![j]);
        assert!(
            matches!(rx.try_recv().unwrap(), Reply::Done(o) if !o.replayed && o.seq == seq + 1)
        );
        assert!(
            enlace_core::verify(&again.journal().load_all().unwrap())
                .broken
                .is_none()
        );
    }

    /// A damaged snapshot, or one that disagrees with the journal, is not
    /// used: start-up takes the one before it, or replays the journal.
    #[test]
    fn a_snapshot_that_does_not_hold_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = state_with(dir.path(), Box::new(NativeBackend::new()), 10);
        run_holidays(&mut w, 0, 25, 1);
        let snaps = w.snapshots.as_ref().unwrap().candidates(u64::MAX).unwrap();
        assert_eq!(snaps, [20, 10]);
        // Stopping writes one at 25 and keeps the one before.
        w.shutdown();
        let snaps = w.snapshots.as_ref().unwrap().candidates(u64::MAX).unwrap();
        assert_eq!(snaps, [25, 20]);
        w.snapshots.as_ref().unwrap().damage_for_tests(25).unwrap();
        drop(w);
        let mut w = state_with(dir.path(), Box::new(NativeBackend::new()), 10);
        assert_eq!(w.base, 20, "the older snapshot");
        w.shutdown();
        drop(w);
        // Another journal under the same snapshots: none agrees.
        std::fs::remove_file(dir.path().join("j.sqlite")).unwrap();
        let _ = std::fs::remove_file(dir.path().join("j.sqlite-wal"));
        let _ = std::fs::remove_file(dir.path().join("j.sqlite-shm"));
        let mut w = state_with(dir.path(), Box::new(NativeBackend::new()), 0);
        run_holidays(&mut w, 100, 15, 5);
        drop(w);
        let mut w = state_with(dir.path(), Box::new(NativeBackend::new()), 10);
        assert_eq!(w.base, 0, "replayed from the start");
        assert_eq!(w.engine.seq().unwrap(), 15);
        let (j, mut rx) = command(admin(), Some("k100"), holiday(100));
        w.process_settled(&mut vec![j]);
        assert!(matches!(rx.try_recv().unwrap(), Reply::Done(o) if o.replayed && o.seq == 1));
    }

    /// The writer decides the next batch while the previous one commits;
    /// when that commit fails, the batch decided on top of it is not
    /// acknowledged either, and memory goes back to the disk.
    #[test]
    fn a_batch_decided_on_a_failed_commit_is_not_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = state(dir.path(), Box::new(NativeBackend::new()));
        let (j, mut first) = command(admin(), Some("a"), holiday(1));
        w.process_settled(&mut vec![j]);
        assert!(matches!(first.try_recv().unwrap(), Reply::Done(_)));
        w.committer.send(ToCommit::QueryOnly(true));
        let (j, mut b) = command(admin(), Some("b"), holiday(2));
        w.process(&mut vec![j]);
        // Decided before (or after) the failure is seen: refused either way.
        let (j, mut c) = command(admin(), Some("c"), holiday(3));
        let (r, mut retry_b) = command(admin(), Some("b"), holiday(2));
        w.process(&mut vec![j, r]);
        w.committer.settle();
        w.committer.send(ToCommit::QueryOnly(false));
        w.process_settled(&mut Vec::new());
        for rx in [&mut b, &mut c, &mut retry_b] {
            assert!(matches!(rx.try_recv().unwrap(), Reply::CommitFailed(_)));
        }
        assert_eq!(w.journal().len().unwrap(), 1);
        assert_eq!(w.engine.seq().unwrap(), 1, "memory back to the disk");
        let (j, mut again) = command(admin(), Some("c"), holiday(3));
        w.process_settled(&mut vec![j]);
        assert!(matches!(again.try_recv().unwrap(), Reply::Done(o) if !o.replayed && o.seq == 2));
    }
}
