//! The snapshot thread: a replica of the tenant's engine that follows
//! the committed journal and writes snapshots of itself in the background.

use super::Shared;
use super::restore::restore;
use crate::backend::{EngineBackend, NativeBackend};
use crate::journal::JournalReader;
use crate::snapshot::{Snapshot, SnapshotStore};
use enlace_core::Entry;
use enlace_core::visibility::Visibility;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The snapshot thread: a replica of the tenant's engine (native core, as
/// `NativeBackend`) that follows the committed journal, entry by entry as
/// the committer makes them durable, verifying the chain as it goes, and
/// writes a snapshot of itself every `snapshot_every` entries and when the
/// writer stops. The writer never pauses for a snapshot: it only lets its
/// engine go of the entries the newest snapshot covers. A replica folds
/// entries the engine decided (`State::apply_entry`, which never decides),
/// in the very format the component reads back.
#[derive(Debug)]
pub(super) struct Snapshotter {
    pub(super) tx: Option<std::sync::mpsc::Sender<ToSnapshot>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the committer (and tests) send the snapshot thread.
#[derive(Debug)]
pub(super) enum ToSnapshot {
    /// Entries just made durable.
    Committed(Vec<Entry>),
    /// Answered once everything sent before it is followed.
    #[cfg_attr(not(test), allow(dead_code))]
    Barrier(std::sync::mpsc::SyncSender<()>),
}

impl Snapshotter {
    pub(super) fn start(
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
    pub(super) fn sync(&self) {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        if let Some(tx) = &self.tx
            && tx.send(ToSnapshot::Barrier(done)).is_ok()
        {
            let _ = wait.recv();
        }
    }

    /// Follows what was sent, writes a last snapshot, ends the thread.
    pub(super) fn finish(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
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
    journal: &Path,
    path: &Path,
    shared: &Shared,
    every: u64,
    rx: std::sync::mpsc::Receiver<ToSnapshot>,
) -> anyhow::Result<()> {
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
