//! The writer thread: takes the jobs queued up, answers the queries on
//! the committed state, decides the commands in order and hands their
//! entries to the committer; rebuilds the engine after a trap or a failed
//! commit, and lets it go of what the newest durable snapshot covers.

use super::committer::{Committer, Pending, ToCommit};
use super::snapshots::Snapshotter;
use super::{Job, Reply, Shared, WriterConfig};
use crate::backend::EngineBackend;
use crate::journal::{Journal, JournalReader};
use crate::snapshot::SnapshotStore;
use chrono::{DateTime, Utc};
use enlace_core::{Answer, Entry, Request};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// What the writer thread owns.
pub(super) struct WriterState {
    pub(super) tenant: String,
    pub(super) engine: Box<dyn EngineBackend>,
    /// Reads of the committed journal (start-up, history).
    pub(super) reader: JournalReader,
    /// Appends: the committer thread owns the journal's write connection.
    pub(super) committer: Committer,
    /// Seq of the last entry decided (committed or handed to the committer).
    pub(super) decided: u64,
    pub(super) shared: Arc<Shared>,
    pub(super) last_at: DateTime<Utc>,
    pub(super) config: WriterConfig,
    /// Seq of the last entry the engine let go: older entries are read
    /// from the journal.
    pub(super) base: u64,
    /// The snapshot file, for restoring (None: snapshots are off).
    pub(super) snapshots: Option<SnapshotStore>,
    /// The background thread that follows the committed journal and writes
    /// snapshots.
    pub(super) snapshotter: Option<Snapshotter>,
}

impl WriterState {
    /// A writer over `journal`; call `restore` before processing jobs.
    pub(super) fn new(
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

    pub(super) fn run(&mut self, mut rx: mpsc::Receiver<Job>) {
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
    pub(super) fn shutdown(&mut self) {
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

    pub(super) fn process(&mut self, batch: &mut Vec<Job>) {
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

    /// After a batch: lets the engine go of what the newest durable
    /// snapshot covers.
    pub(super) fn after_commits(&mut self) {
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

    pub(super) fn on_trap(&mut self, why: &str) {
        self.shared.stats.traps.fetch_add(1, Ordering::Relaxed);
        self.rebuild(why);
    }

    /// Rebuilds the engine from the newest snapshot and the durable
    /// journal. Returns false (and marks the tenant unhealthy) if that fails.
    pub(super) fn rebuild(&mut self, why: &str) -> bool {
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
    pub(super) fn journal(&self) -> &JournalReader {
        &self.reader
    }

    /// `process`, then waits for the commit (and the rebuild a failed one
    /// calls for), so that a test sees the answers.
    #[cfg(test)]
    pub(super) fn process_settled(&mut self, batch: &mut Vec<Job>) {
        self.process(batch);
        self.committer.settle();
        if self.committer.has_failed() {
            self.rebuild("commit failed");
        }
    }
}
