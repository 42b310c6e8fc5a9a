//! The record of reads: who was shown which beneficiary's data, when, and
//! by which query (issue 15: SIACI logs what was asked, not only what
//! changed). What counts as showing a person is core's rule
//! (`enlace_core::disclosure`); this module keeps the records.
//!
//! Each tenant has `reads.sqlite` beside its journal, written by one thread
//! that takes every record waiting and commits them in one transaction
//! (group commit, as the journal does). An answer that shows people is
//! sent only after its record is committed, so no read leaves the host
//! unrecorded; a crash of the process loses nothing committed (WAL), and
//! `synchronous=NORMAL` means a power cut may lose the last moments of
//! records, never a change: the journal itself stays `FULL`.
//! The record is not part of the journal's hash chain: reads are not
//! facts of the register, and replay must not depend on who looked.

use anyhow::{Context, Result};
use enlace_core::Actor;
use rusqlite::{Connection, params};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use tokio::sync::oneshot;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reads (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    query    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS read_subjects (
    read     INTEGER NOT NULL REFERENCES reads(seq),
    subject  TEXT NOT NULL,
    PRIMARY KEY (subject, read)
) WITHOUT ROWID;
";

/// Most records committed in one transaction.
const BATCH: usize = 1024;

/// One read to record.
#[derive(Debug)]
struct Pending {
    actor: Actor,
    query: String,
    subjects: Vec<String>,
    done: oneshot::Sender<Result<(), String>>,
}

/// A recorded read, as auditors see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Read {
    pub seq: i64,
    /// RFC 3339, to the millisecond.
    pub at: String,
    pub actor: Actor,
    /// The query as the engine received it (JSON), or `events` for the feed.
    pub query: serde_json::Value,
    /// Every beneficiary the answer showed.
    pub subjects: Vec<String>,
}

/// The record of reads of one tenant.
#[derive(Debug)]
pub struct ReadLog {
    tx: mpsc::Sender<Pending>,
    path: PathBuf,
}

/// Where a tenant's record of reads lives.
pub fn path(journal: &Path) -> PathBuf {
    journal.with_file_name("reads.sqlite")
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

impl ReadLog {
    /// Opens (creating) the record beside `journal` and starts its writer.
    pub fn start(journal: &Path) -> Result<Self> {
        let path = path(journal);
        let mut conn = open(&path)?;
        let (tx, rx) = mpsc::channel::<Pending>();
        std::thread::Builder::new()
            .name("enlace-reads".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(p) => batch.push(p),
                            Err(_) => break,
                        }
                    }
                    let result = write(&mut conn, &batch).map_err(|e| format!("{e:#}"));
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "recording reads failed");
                    }
                    for p in batch {
                        let _ = p.done.send(result.clone());
                    }
                }
            })?;
        Ok(ReadLog { tx, path })
    }

    /// Records that `actor` was shown `subjects` by `query`; returns once
    /// the record is committed. Nothing shown: nothing to record.
    pub async fn record(&self, actor: &Actor, query: String, subjects: Vec<String>) -> Result<()> {
        if subjects.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending {
                actor: actor.clone(),
                query,
                subjects,
                done,
            })
            .map_err(|_| anyhow::anyhow!("the record of reads has stopped"))?;
        wait.await
            .map_err(|_| anyhow::anyhow!("the record of reads has stopped"))?
            .map_err(anyhow::Error::msg)
    }

    /// Reads of any of `subjects` after `after`, oldest first, at most `limit`.
    pub fn of(&self, subjects: &[String], after: i64, limit: u32) -> Result<Vec<Read>> {
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let marks = vec!["?"; subjects.len().max(1)].join(",");
        let sql = format!(
            "SELECT r.seq, r.at, r.actor, r.query,
                    (SELECT group_concat(subject, char(31)) FROM read_subjects WHERE read = r.seq)
             FROM reads r
             WHERE r.seq > ? AND r.seq IN (SELECT read FROM read_subjects WHERE subject IN ({marks}))
             ORDER BY r.seq LIMIT ?"
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut values: Vec<rusqlite::types::Value> = vec![after.into()];
        values.extend(subjects.iter().map(|s| s.clone().into()));
        values.push(i64::from(limit).into());
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(seq, at, actor, query, subjects)| {
                let mut subjects: Vec<String> = subjects
                    .unwrap_or_default()
                    .split('\u{1f}')
                    .map(str::to_owned)
                    .collect();
                subjects.sort();
                Ok(Read {
                    seq,
                    at,
                    actor: serde_json::from_str(&actor)?,
                    query: serde_json::from_str(&query).unwrap_or(serde_json::Value::String(query)),
                    subjects,
                })
            })
            .collect()
    }
}

fn write(conn: &mut Connection, batch: &[Pending]) -> Result<()> {
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let tx = conn.transaction()?;
    {
        let mut read =
            tx.prepare_cached("INSERT INTO reads (at, actor, query) VALUES (?1, ?2, ?3)")?;
        let mut subject = tx.prepare_cached(
            "INSERT OR IGNORE INTO read_subjects (read, subject) VALUES (?1, ?2)",
        )?;
        for p in batch {
            read.execute(params![at, serde_json::to_string(&p.actor)?, p.query])?;
            let seq = tx.last_insert_rowid();
            for s in &p.subjects {
                subject.execute(params![seq, s])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_core::Role;

    #[tokio::test]
    async fn records_are_kept_and_found_by_subject() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("journal.sqlite");
        let log = ReadLog::start(&journal).unwrap();
        let clerk = Actor::new("rosa", "asse", Some("F0001"), Role::Clerk);
        let coord = Actor::new("jorge", "imss", Some("F0004"), Role::Coordinator);
        log.record(
            &clerk,
            r#"{"type":"find_beneficiaries"}"#.into(),
            vec!["MX-1".into(), "MX-2".into()],
        )
        .await
        .unwrap();
        log.record(&coord, r#"{"type":"worklist"}"#.into(), vec!["MX-2".into()])
            .await
            .unwrap();
        // Nothing shown, nothing recorded.
        log.record(&coord, "{}".into(), vec![]).await.unwrap();
        let mx2 = log.of(&["MX-2".into()], 0, 10).unwrap();
        assert_eq!(mx2.len(), 2);
        assert_eq!(mx2[0].actor, clerk);
        assert_eq!(mx2[0].subjects, ["MX-1", "MX-2"]);
        assert_eq!(mx2[1].query["type"], "worklist");
        let mx1 = log
            .of(&["MX-1".into(), "Patient/patient-MX-1".into()], 0, 10)
            .unwrap();
        assert_eq!(mx1.len(), 1);
        assert!(log.of(&["MX-1".into()], mx1[0].seq, 10).unwrap().is_empty());
        // Many in a row: every one answered.
        let all = futures_join(&log, &clerk).await;
        assert_eq!(all, 200);
        assert_eq!(log.of(&["MX-9".into()], 0, 1000).unwrap().len(), 200);
        // Kept across a restart.
        drop(log);
        let again = ReadLog::start(&journal).unwrap();
        assert_eq!(again.of(&["MX-2".into()], 0, 10).unwrap().len(), 2);
    }

    async fn futures_join(log: &ReadLog, actor: &Actor) -> usize {
        let mut set = Vec::new();
        for i in 0..200 {
            set.push(log.record(actor, format!("{{\"n\":{i}}}"), vec!["MX-9".into()]));
        }
        let mut n = 0;
        for f in set {
            f.await.unwrap();
            n += 1;
        }
        n
    }
}
