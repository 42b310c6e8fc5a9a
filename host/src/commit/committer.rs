//! The committer thread: makes each batch the writer decided durable in
//! one SQLite transaction (group commit), answers its commands only then,
//! and hands the entries to the snapshot thread.

use super::snapshots::ToSnapshot;
use super::{Reply, Shared};
use crate::journal::Journal;
use enlace_core::Entry;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::oneshot;

/// A command decided in the current batch, waiting for the commit.
pub(super) struct Pending {
    pub(super) reply: oneshot::Sender<Reply>,
    pub(super) answer: Reply,
}

/// What the writer hands its committer, in order.
pub(super) enum ToCommit {
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
pub(super) struct Committer {
    tx: Option<std::sync::mpsc::SyncSender<ToCommit>>,
    /// Set by a failed commit; the writer rebuilds and resets.
    failed: Arc<AtomicBool>,
    /// A batch with entries was handed over since the last barrier.
    pub(super) in_flight: bool,
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
    pub(super) fn start(
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

    pub(super) fn send(&mut self, msg: ToCommit) {
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
    pub(super) fn settle(&mut self) {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        self.send(ToCommit::Barrier(done));
        let _ = wait.recv();
        self.in_flight = false;
    }

    pub(super) fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Commits what was handed over, then ends the thread.
    pub(super) fn finish(&mut self) {
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
