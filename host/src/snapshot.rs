//! Snapshots of a tenant's engine and feed index, so that start-up reads
//! the latest snapshot and the journal entries after it instead of the
//! whole journal.
//!
//! They live in `DATA/tenants/NAME/snapshots.sqlite`, apart from the journal:
//! writing tens of megabytes there never holds the journal's write lock, and
//! losing the file loses nothing (start-up then replays the journal). Each
//! row holds the engine's snapshot (`Engine::snapshot`, inside the
//! component), the feed index's (`Visibility::snapshot`), the seq and head
//! hash they stand at, and a SHA-256 of both blobs. A snapshot is used only
//! if its checksum holds *and* the journal's entry at its seq has its head
//! hash: a snapshot never overrides the journal, which stays the record.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS snapshots (
    seq        INTEGER PRIMARY KEY,
    head       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    engine     BLOB NOT NULL,
    visibility BLOB NOT NULL,
    written_at TEXT NOT NULL
);
";

/// Snapshots kept: the newest, and one before it should the newest be
/// unreadable.
const KEEP: i64 = 2;

/// One snapshot of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: u64,
    pub head: String,
    pub engine: Vec<u8>,
    pub visibility: Vec<u8>,
}

impl Snapshot {
    fn checksum(&self) -> String {
        let mut h = Sha256::new();
        h.update((self.engine.len() as u64).to_le_bytes());
        h.update(&self.engine);
        h.update(&self.visibility);
        crate::component::hex(&h.finalize())
    }
}

/// A tenant's snapshot file.
#[derive(Debug)]
pub struct SnapshotStore {
    conn: Connection,
    path: PathBuf,
}

/// Where a tenant's snapshots live, beside its journal.
pub fn path_beside(journal: &Path) -> PathBuf {
    journal.with_file_name("snapshots.sqlite")
}

impl SnapshotStore {
    /// Opens (creating if needed) the snapshot file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SnapshotStore {
            conn,
            path: path.to_owned(),
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores `s` durably and drops all but the newest snapshots.
    pub fn save(&mut self, s: &Snapshot) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO snapshots (seq, head, sha256, engine, visibility, written_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.seq,
                s.head,
                s.checksum(),
                s.engine,
                s.visibility,
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ],
        )?;
        tx.execute(
            "DELETE FROM snapshots WHERE seq NOT IN
             (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?1)",
            [KEEP],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The seqs of the stored snapshots at or below `max_seq`, newest first.
    pub fn candidates(&self, max_seq: u64) -> Result<Vec<u64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq FROM snapshots WHERE seq <= ?1 ORDER BY seq DESC")?;
        let max_seq = i64::try_from(max_seq).unwrap_or(i64::MAX);
        let rows = stmt.query_map([max_seq], |r| r.get::<_, u64>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The snapshot at `seq`; an error if it is missing or its checksum
    /// does not hold.
    pub fn load(&self, seq: u64) -> Result<Snapshot> {
        let row = self
            .conn
            .query_row(
                "SELECT head, sha256, engine, visibility FROM snapshots WHERE seq = ?1",
                [seq],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((head, sha, engine, visibility)) = row else {
            anyhow::bail!("no snapshot at seq {seq}");
        };
        let s = Snapshot {
            seq,
            head,
            engine,
            visibility,
        };
        if s.checksum() != sha {
            anyhow::bail!("the snapshot at seq {seq} is damaged (checksum mismatch)");
        }
        Ok(s)
    }

    /// The newest snapshot's seq, if any.
    pub fn newest(&self) -> Result<Option<u64>> {
        Ok(self
            .conn
            .query_row("SELECT MAX(seq) FROM snapshots", [], |r| {
                r.get::<_, Option<u64>>(0)
            })?)
    }

    /// Overwrites one byte of the engine blob of snapshot `seq`: lets tests
    /// exercise start-up from a damaged snapshot on a real file.
    #[doc(hidden)]
    pub fn damage_for_tests(&self, seq: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE snapshots SET engine = CAST(zeroblob(length(engine)) AS BLOB) WHERE seq = ?1",
            [seq],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(seq: u64) -> Snapshot {
        Snapshot {
            seq,
            head: format!("h{seq}"),
            engine: vec![seq as u8; 100],
            visibility: vec![1, 2, 3],
        }
    }

    #[test]
    fn keeps_the_two_newest_and_refuses_damaged_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = SnapshotStore::open(&dir.path().join("s.sqlite")).unwrap();
        assert_eq!(st.newest().unwrap(), None);
        for seq in [10, 20, 30] {
            st.save(&snap(seq)).unwrap();
        }
        assert_eq!(st.candidates(u64::MAX).unwrap(), [30, 20]);
        assert_eq!(st.candidates(25).unwrap(), [20]);
        assert_eq!(st.load(30).unwrap(), snap(30));
        st.damage_for_tests(30).unwrap();
        let e = st.load(30).unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
        assert!(st.load(10).is_err(), "pruned");
    }
}
