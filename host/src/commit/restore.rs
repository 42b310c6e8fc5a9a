//! Start-up and rebuilds: the newest snapshot that agrees with the
//! journal plus the entries after it, or the whole journal.

use super::writer::WriterState;
use crate::backend::EngineBackend;
use crate::journal::JournalReader;
use crate::snapshot::SnapshotStore;
use enlace_core::visibility::Visibility;
use std::sync::atomic::Ordering;

/// How an engine instance was restored.
#[derive(Debug, Clone)]
pub(super) struct Restored {
    /// The snapshot's seq, if one was used.
    pub(super) snapshot: Option<u64>,
    /// Journal entries applied on top of it (or replayed from the start).
    pub(super) replayed: u64,
    /// The feed index, restored alike.
    pub(super) visibility: Visibility,
}

/// Restores `engine` from the newest snapshot that agrees with the journal
/// and the entries after it, or from the whole journal when no snapshot is
/// usable; rebuilds the feed index alike.
pub(super) fn restore(
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

impl WriterState {
    /// Restores the engine as at start-up (see [`restore`]).
    pub(super) fn restore(&mut self) -> anyhow::Result<Restored> {
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
}
