//! The durable journal of one tenant: an append-only SQLite table.
//!
//! One row per accepted command, with its actor, time, idempotency key and
//! digest, events and the audit hash chain. WAL mode with
//! `synchronous=FULL`: a transaction is on disk when `COMMIT` returns, so the
//! writer may acknowledge every command of the batch it just committed.
//! Triggers refuse `UPDATE` and `DELETE`, so the table stays append-only even
//! to a careless operator with the `sqlite3` shell.

use anyhow::{Context, Result, bail};
use enlace_core::{Actor, Entry, Event};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    seq     INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    command TEXT NOT NULL,
    key     TEXT,
    digest  TEXT,
    events  TEXT NOT NULL,
    hash    TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
";

/// Applies the connection settings every journal connection uses.
fn configure(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

/// The writer's handle on a tenant journal.
#[derive(Debug)]
pub struct Journal {
    conn: Connection,
    path: PathBuf,
    len: u64,
    head: String,
}

/// The `digest` column holds the same 16 hex digits as the entry's JSON.
fn digest_hex(d: Option<u64>) -> Option<String> {
    d.map(|d| format!("{d:016x}"))
}

impl Journal {
    /// Opens (creating if needed) the journal at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        configure(&conn)?;
        conn.execute_batch(SCHEMA)?;
        let (len, head): (u64, String) = conn
            .query_row(
                "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, String::new()));
        Ok(Journal {
            conn,
            path: path.to_owned(),
            len,
            head,
        })
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of entries (the seq of the last one).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the journal holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hash of the last entry: the head of the audit chain.
    pub fn head(&self) -> &str {
        &self.head
    }

    /// Appends `entries` in one transaction and waits until it is durable.
    /// Entries must continue the journal without gaps; on error nothing of
    /// them is stored.
    pub fn append(&mut self, entries: &[Entry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        for (i, e) in entries.iter().enumerate() {
            if e.seq != self.len + 1 + i as u64 {
                bail!(
                    "entry seq {} does not follow journal length {}",
                    e.seq,
                    self.len + i as u64
                );
            }
        }
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO entries (seq, at, actor, command, key, digest, events, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for e in entries {
                stmt.execute(params![
                    e.seq,
                    e.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                    serde_json::to_string(&e.actor)?,
                    e.command,
                    e.key,
                    digest_hex(e.digest),
                    serde_json::to_string(&e.events)?,
                    e.hash,
                ])?;
            }
        }
        tx.commit()?;
        if let Some(last) = entries.last() {
            self.len = last.seq;
            self.head.clone_from(&last.hash);
        }
        Ok(())
    }

    /// Every entry, oldest first.
    pub fn load_all(&self) -> Result<Vec<Entry>> {
        read_after(&self.conn, 0, u64::MAX)
    }

    /// Makes every later write fail (or succeed again): lets tests exercise
    /// the commit-failure path on a real database.
    #[doc(hidden)]
    pub fn set_read_only_for_tests(&self, on: bool) -> Result<()> {
        self.conn.pragma_update(None, "query_only", on)?;
        Ok(())
    }
}

/// Reads entries with `seq > after`, at most `limit` of them, oldest first.
pub fn read_after(conn: &Connection, after: u64, limit: u64) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, actor, command, key, digest, events, hash
         FROM entries WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok((
            r.get::<_, u64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, at, actor, command, key, digest, events, hash) = row?;
        out.push(entry_from_columns(
            seq, &at, &actor, command, key, digest, &events, hash,
        )?);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn entry_from_columns(
    seq: u64,
    at: &str,
    actor: &str,
    command: String,
    key: Option<String>,
    digest: Option<String>,
    events: &str,
    hash: String,
) -> Result<Entry> {
    let ctx = || format!("journal entry {seq} is unreadable");
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .with_context(ctx)?
        .with_timezone(&chrono::Utc);
    let actor: Actor = serde_json::from_str(actor).with_context(ctx)?;
    let events: Vec<Event> = serde_json::from_str(events).with_context(ctx)?;
    let digest = digest
        .map(|d| u64::from_str_radix(&d, 16))
        .transpose()
        .with_context(ctx)?;
    Ok(Entry {
        seq,
        at,
        actor,
        command,
        key,
        digest,
        events,
        hash,
    })
}

/// A read-only handle on a journal: what the writer reads (start-up,
/// history the engine let go) while its committer thread appends.
#[derive(Debug)]
pub struct JournalReader {
    conn: Connection,
    path: PathBuf,
}

impl JournalReader {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(JournalReader {
            conn: open_reader(path)?,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of committed entries (the seq of the last one).
    pub fn len(&self) -> Result<u64> {
        count(&self.conn)
    }

    /// True when no entry is committed.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Every committed entry, oldest first.
    pub fn load_all(&self) -> Result<Vec<Entry>> {
        read_after(&self.conn, 0, u64::MAX)
    }

    /// Entries with `seq > after`, at most `limit` of them, oldest first.
    pub fn read_after(&self, after: u64, limit: u64) -> Result<Vec<Entry>> {
        read_after(&self.conn, after, limit)
    }

    /// Committed entries with `seq > after`, through entry `through` (to
    /// the end with `None`), a page at a time: see [`Pages`].
    pub fn pages(&self, after: u64, through: Option<u64>) -> Pages<'_> {
        pages(&self.conn, after, through)
    }

    /// Entry `seq`, if committed.
    pub fn entry(&self, seq: u64) -> Result<Option<Entry>> {
        Ok(read_after(&self.conn, seq.saturating_sub(1), 1)?
            .pop()
            .filter(|e| e.seq == seq))
    }

    /// The hash of entry `seq`, if committed (without parsing the entry).
    pub fn hash_at(&self, seq: u64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT hash FROM entries WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .optional()?)
    }
}

/// Entries in one page of [`Pages`].
pub const PAGE: u64 = 2_000;

/// The one paged reader of the journal table: entries with `seq > after`
/// through entry `through` (to the end with `None`), [`PAGE`] at a time,
/// oldest first, each page one query. What reads more of the journal than
/// it wants in memory at once goes through it: audit trails over history
/// the engine let go, verification (`verify_file`), the CLI's `export`.
/// An error ends the pages.
#[derive(Debug)]
pub struct Pages<'c> {
    conn: &'c Connection,
    /// The seq of the last entry read so far.
    after: u64,
    through: u64,
    done: bool,
}

/// Pages of the journal behind `conn`: see [`Pages`].
pub fn pages(conn: &Connection, after: u64, through: Option<u64>) -> Pages<'_> {
    Pages {
        conn,
        after,
        through: through.unwrap_or(u64::MAX),
        done: false,
    }
}

impl Iterator for Pages<'_> {
    type Item = Result<Vec<Entry>>;

    fn next(&mut self) -> Option<Result<Vec<Entry>>> {
        let limit = PAGE.min(self.through.saturating_sub(self.after));
        if self.done || limit == 0 {
            return None;
        }
        let page = read_after(self.conn, self.after, limit);
        match page.as_ref().map(|p| p.last().map(|e| e.seq)) {
            Ok(Some(end)) => self.after = end,
            Ok(None) => return None,
            Err(_) => self.done = true,
        }
        Some(page)
    }
}

/// Verifies the journal file at `path` from its first entry through entry
/// `last` (the whole file with `None`) on two cores: a reader thread reads
/// and parses pages (JSON parsing costs about what hashing does) while
/// this thread checks the chain. `progress` hears the entries verified so
/// far after each page. A chain break is a `Verification` with `broken`; an
/// unreadable file is an error.
pub fn verify_file(
    path: &Path,
    last: Option<u64>,
    mut progress: impl FnMut(u64),
) -> Result<enlace_core::Verification> {
    // Two pages in flight bound the memory; the reader stops when the
    // verifier hangs up (a break, or an error on this side).
    let (sender, received) = std::sync::mpsc::sync_channel::<Result<Vec<Entry>>>(2);
    // Checked pages go back to be freed by the thread that allocated them
    // (glibc frees across threads slowly).
    let (spent, to_free) = std::sync::mpsc::channel::<Vec<Entry>>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let conn = match open_reader(path) {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = sender.send(Err(e));
                    return;
                }
            };
            let mut pages = pages(&conn, 0, last);
            loop {
                while let Ok(page) = to_free.try_recv() {
                    drop(page);
                }
                let Some(page) = pages.next() else { return };
                if sender.send(page).is_err() {
                    return;
                }
            }
        });
        let mut v = enlace_core::Verifier::new();
        for page in received {
            let page = page?;
            let more = v.feed(&page);
            let _ = spent.send(page);
            if !more {
                break;
            }
            progress(v.entries());
        }
        drop(spent);
        Ok(v.finish())
    })
}

/// A read-only connection for feeds, exports and verification, which may
/// run while the writer appends (WAL lets readers and one writer coexist).
pub fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// Number of entries, read through any connection.
pub fn count(conn: &Connection) -> Result<u64> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM entries", [], |r| {
            r.get(0)
        })?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_core::{Command, Engine, Request, Role};

    fn engine_with(n: usize) -> Engine {
        let mut e = Engine::new();
        let admin = Actor::new("ana", "ministry", None, Role::Admin);
        for i in 0..n {
            e.execute(Request {
                actor: admin.clone(),
                at: "2026-03-02T12:00:00.123456789Z".parse().unwrap(),
                key: Some(format!("k{i}")),
                command: Command::DeclareHoliday {
                    date: "2026-05-01".parse().unwrap(),
                    name: format!("Holiday {i}"),
                },
            })
            .unwrap();
        }
        e
    }

    #[test]
    fn entries_round_trip_and_the_chain_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let e = engine_with(5);
        let mut j = Journal::open(&path).unwrap();
        j.append(&e.journal()[..2]).unwrap();
        j.append(&e.journal()[2..]).unwrap();
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.len(), 5);
        let back = j.load_all().unwrap();
        assert_eq!(back, e.journal());
        assert!(enlace_core::verify(&back).broken.is_none());
        assert_eq!(j.head(), e.journal()[4].hash);
    }

    #[test]
    fn gaps_and_rewrites_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let e = engine_with(3);
        assert!(j.append(&e.journal()[1..]).is_err());
        assert_eq!(j.len(), 0);
        j.append(e.journal()).unwrap();
        assert!(j.append(&e.journal()[2..]).is_err());
        let err = j
            .conn
            .execute("DELETE FROM entries WHERE seq = 1", [])
            .unwrap_err();
        assert!(err.to_string().contains("append-only"));
        assert!(
            j.conn
                .execute("UPDATE entries SET hash = 'x' WHERE seq = 2", [])
                .is_err()
        );
        assert_eq!(j.load_all().unwrap().len(), 3);
    }

    #[test]
    fn pages_read_every_entry_in_order_up_to_a_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let e = engine_with(PAGE as usize + 5);
        let mut j = Journal::open(&path).unwrap();
        j.append(e.journal()).unwrap();
        let r = JournalReader::open(&path).unwrap();
        let sizes = |after, through| -> Vec<usize> {
            r.pages(after, through).map(|p| p.unwrap().len()).collect()
        };
        assert_eq!(sizes(0, None), [PAGE as usize, 5]);
        assert_eq!(sizes(3, Some(PAGE + 1)), [PAGE as usize - 2]);
        assert_eq!(sizes(PAGE + 5, None), Vec::<usize>::new());
        assert_eq!(sizes(2, Some(2)), Vec::<usize>::new());
        let all: Vec<Entry> = r.pages(0, None).flat_map(Result::unwrap).collect();
        assert_eq!(all, e.journal());
    }

    #[test]
    fn a_file_verifies_in_pages_on_two_threads_as_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let e = engine_with(2 * PAGE as usize + 7);
        let mut j = Journal::open(&path).unwrap();
        j.append(e.journal()).unwrap();
        let mut seen = Vec::new();
        let whole = verify_file(&path, None, |n| seen.push(n)).unwrap();
        assert_eq!(whole, enlace_core::verify(e.journal()));
        assert_eq!(seen, [PAGE, 2 * PAGE, 2 * PAGE + 7]);
        // Up to a given entry, as the writer asks for its durable chain.
        let part = verify_file(&path, Some(PAGE + 3), |_| {}).unwrap();
        assert_eq!(part, enlace_core::verify(&e.journal()[..PAGE as usize + 3]));
        // A record rewritten behind the triggers' back, in the second page.
        j.conn
            .execute_batch("DROP TRIGGER entries_no_update")
            .unwrap();
        j.conn
            .execute(
                "UPDATE entries SET events = replace(events, 'Holiday', 'Holidai') WHERE seq = ?1",
                [PAGE + 11],
            )
            .unwrap();
        let broken = verify_file(&path, None, |_| {}).unwrap();
        let b = broken.broken.as_ref().expect("the rewrite is found");
        assert_eq!((b.seq, b.index), (PAGE + 11, PAGE + 10));
        assert_eq!(broken, enlace_core::verify(&j.load_all().unwrap()));
        assert!(verify_file(&dir.path().join("none.sqlite"), None, |_| {}).is_err());
    }

    #[test]
    fn a_failed_commit_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let e = engine_with(2);
        j.set_read_only_for_tests(true).unwrap();
        assert!(j.append(e.journal()).is_err());
        assert_eq!(j.len(), 0);
        j.set_read_only_for_tests(false).unwrap();
        j.append(e.journal()).unwrap();
        assert_eq!(j.load_all().unwrap(), e.journal());
    }
}
