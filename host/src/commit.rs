//! One writer per tenant, with group commit.
//!
//! Every command and query of a tenant goes through one channel to one
//! thread that owns the tenant's engine instance and journal. The thread
//! takes whatever has queued up (up to `max_batch` jobs) and then:
//!
//! 1. answers the queries of the batch on the committed state;
//! 2. decides and applies each command in the engine, in arrival order,
//!    collecting the new journal entries;
//! 3. writes all those entries in one SQLite transaction and waits for it to
//!    be durable (one fsync for the whole batch);
//! 4. only then answers every command of the batch.
//!
//! If the commit fails, no command of the batch is acknowledged (each gets
//! `commit_failed`) and the engine is rebuilt from the durable journal, so
//! memory never runs ahead of the disk. If the engine traps, the request that
//! made it trap gets `engine_trap`, what the batch decided before the trap is
//! committed as usual, and the instance is rebuilt from the journal before
//! the next command is decided.

use crate::backend::{EngineBackend, Refusal};
use crate::journal::Journal;
use chrono::{DateTime, Utc};
use enlace_core::visibility::Visibility;
use enlace_core::{Actor, Answer, Command, Entry, Outcome, Query, Request};
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
}

/// Handle to a running writer thread.
#[derive(Debug)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    pub shared: Arc<Shared>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Writer {
    /// Loads the journal into `engine` (verifying the chain) and starts the
    /// writer thread. Fails if the journal does not verify.
    pub fn start(
        name: &str,
        mut engine: Box<dyn EngineBackend>,
        journal: Journal,
        config: WriterConfig,
    ) -> anyhow::Result<Writer> {
        let t0 = Instant::now();
        let entries = journal.load_all()?;
        let loaded = t0.elapsed();
        let visibility = Visibility::from_entries(&entries);
        let n = entries.len();
        engine.rebuild(entries)?;
        tracing::info!(
            tenant = name,
            entries = n,
            engine = engine.name(),
            read_ms = loaded.as_millis() as u64,
            total_ms = t0.elapsed().as_millis() as u64,
            "tenant loaded"
        );
        let shared = Arc::new(Shared {
            stats: WriterStats::default(),
            visibility: RwLock::new(visibility),
        });
        shared
            .stats
            .journal_len
            .store(journal.len(), Ordering::Relaxed);
        shared.stats.healthy.store(true, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(config.max_batch.max(1) * 4);
        let mut state = WriterState {
            tenant: name.to_owned(),
            engine,
            journal,
            shared: shared.clone(),
            last_at: DateTime::<Utc>::MIN_UTC,
            config,
        };
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
    journal: Journal,
    shared: Arc<Shared>,
    last_at: DateTime<Utc>,
    config: WriterConfig,
}

/// A command decided in the current batch, waiting for the commit.
struct Pending {
    reply: oneshot::Sender<Reply>,
    answer: Reply,
}

impl WriterState {
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
        tracing::info!(tenant = %self.tenant, "writer stopped");
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
        // Queries first: they see exactly the committed state.
        let mut commands = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            match job {
                Job::Query {
                    actor,
                    query,
                    reply,
                } => {
                    let now = Utc::now();
                    let answer = match self.engine.query(&actor, &query, now) {
                        Ok(Ok(a)) => Reply::Answer(a),
                        Ok(Err(r)) => Reply::Refused(r),
                        Err(trap) => {
                            self.on_trap(&trap.0);
                            Reply::Trapped(trap.0)
                        }
                    };
                    let _ = reply.send(answer);
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
                        entries.push(e);
                    }
                    Reply::Done(ex.outcome)
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
                    self.commit(&mut entries, &mut pending);
                    self.on_trap(&trap.0);
                    continue;
                }
            };
            pending.push(Pending { reply, answer });
        }
        self.commit(&mut entries, &mut pending);
    }

    /// Makes `entries` durable and then answers `pending`; on failure answers
    /// `commit_failed` to every command of the batch and rebuilds.
    fn commit(&mut self, entries: &mut Vec<Entry>, pending: &mut Vec<Pending>) {
        if entries.is_empty() {
            for p in pending.drain(..) {
                let _ = p.reply.send(p.answer);
            }
            return;
        }
        let t0 = Instant::now();
        match self.journal.append(entries) {
            Ok(()) => {
                let stats = &self.shared.stats;
                stats
                    .commit_micros
                    .fetch_add(t0.elapsed().as_micros() as u64, Ordering::Relaxed);
                stats.commits.fetch_add(1, Ordering::Relaxed);
                {
                    let mut v = self
                        .shared
                        .visibility
                        .write()
                        .unwrap_or_else(|p| p.into_inner());
                    for e in entries.iter() {
                        v.observe(e);
                    }
                }
                stats
                    .journal_len
                    .store(self.journal.len(), Ordering::Relaxed);
                entries.clear();
                for p in pending.drain(..) {
                    let _ = p.reply.send(p.answer);
                }
            }
            Err(e) => {
                let msg = format!("{e:#}");
                tracing::error!(tenant = %self.tenant, error = %msg, commands = pending.len(), "commit failed; nothing of the batch is acknowledged");
                self.shared
                    .stats
                    .commit_failures
                    .fetch_add(1, Ordering::Relaxed);
                entries.clear();
                for p in pending.drain(..) {
                    let _ = p.reply.send(Reply::CommitFailed(
                        "the journal could not be written; the command was not applied".into(),
                    ));
                }
                self.rebuild("commit failed");
            }
        }
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

    /// Rebuilds the engine from the durable journal. Returns false (and marks
    /// the tenant unhealthy) if that fails.
    fn rebuild(&mut self, why: &str) -> bool {
        self.shared.stats.rebuilds.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        let result = self.journal.load_all().and_then(|entries| {
            let v = Visibility::from_entries(&entries);
            self.engine.rebuild(entries).map(|()| v)
        });
        match result {
            Ok(v) => {
                *self
                    .shared
                    .visibility
                    .write()
                    .unwrap_or_else(|p| p.into_inner()) = v;
                self.shared.stats.healthy.store(true, Ordering::Relaxed);
                tracing::warn!(tenant = %self.tenant, why, ms = t0.elapsed().as_millis() as u64, "engine rebuilt from the journal");
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
    fn journal(&self) -> &Journal {
        &self.journal
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
        let journal = Journal::open(&dir.join("j.sqlite")).unwrap();
        WriterState {
            tenant: "t".into(),
            engine,
            journal,
            shared: Arc::new(Shared {
                stats: WriterStats::default(),
                visibility: RwLock::new(Visibility::new()),
            }),
            last_at: DateTime::<Utc>::MIN_UTC,
            config: WriterConfig { max_batch: 64 },
        }
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
        w.process(&mut batch);
        assert_eq!(w.shared.stats.commits.load(Ordering::Relaxed), 1);
        assert_eq!(w.journal().len(), 10);
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
        w.process(&mut vec![j]);
        assert!(matches!(first.try_recv().unwrap(), Reply::Done(_)));
        w.journal().set_read_only_for_tests(true).unwrap();
        let (j, mut failed) = command(admin(), Some("b"), holiday(2));
        w.process(&mut vec![j]);
        assert!(matches!(failed.try_recv().unwrap(), Reply::CommitFailed(_)));
        assert_eq!(w.engine.seq().unwrap(), 1, "memory rebuilt from the disk");
        w.journal().set_read_only_for_tests(false).unwrap();
        // The same key now executes afresh: it was never acknowledged.
        let (j, mut again) = command(admin(), Some("b"), holiday(2));
        w.process(&mut vec![j]);
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
        fn rebuild(&mut self, entries: Vec<Entry>) -> anyhow::Result<()> {
            self.0.rebuild(entries)
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
        w.process(&mut vec![a, b, c]);
        assert!(matches!(ra.try_recv().unwrap(), Reply::Done(o) if o.seq == 1));
        assert!(matches!(rb.try_recv().unwrap(), Reply::Trapped(_)));
        assert!(matches!(rc.try_recv().unwrap(), Reply::Done(o) if o.seq == 2));
        assert_eq!(w.journal().len(), 2);
        assert_eq!(w.shared.stats.traps.load(Ordering::Relaxed), 1);
        let all = w.journal().load_all().unwrap();
        assert!(enlace_core::verify(&all).broken.is_none());
    }
}
