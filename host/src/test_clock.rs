//! A clock for tests: `serve --test-clock FILE` dates every command and
//! every query with the instant written in FILE instead of the system clock.
//!
//! The engine takes the instant of a command (`Request::at`) and of a query
//! (`now`) from its face; the server's face is the system clock. Tests that
//! replay a recorded story over HTTP (the scenario corpus, `tests/tests/http.rs`)
//! need the story's own instants, since deadlines, slot notice and the
//! journal's hashes all depend on them. With this option the test writes an
//! RFC 3339 instant into FILE before each request; the engine instance sees
//! that instant, read at each call. Nothing else changes: the request still
//! goes through authentication, the writer, the group commit and the journal.
//!
//! It exists for tests only. It is enabled by the command-line flag alone
//! (no configuration key, no environment variable, so a deployment cannot
//! turn it on by accident), the server says so at start, and FILE must hold
//! an instant when the server starts. Like the writer's own clock, it never
//! goes backwards: an earlier instant in FILE reads as the latest one given.

use crate::backend::{BackendFactory, EngineBackend, Executed, Refusal, Trap};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use enlace_core::{Actor, Answer, Entry, Query, Request};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The instant in a file, read at each call.
#[derive(Debug)]
pub struct TestClock {
    path: PathBuf,
    /// The latest instant read, so that the clock never goes backwards.
    last: Mutex<DateTime<Utc>>,
}

fn read(path: &Path) -> Result<DateTime<Utc>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the test clock {}", path.display()))?;
    let at = DateTime::parse_from_rfc3339(text.trim()).with_context(|| {
        format!(
            "the test clock {} must hold an RFC 3339 instant, not {:?}",
            path.display(),
            text.trim()
        )
    })?;
    Ok(at.with_timezone(&Utc))
}

/// The clock of this process when `--test-clock` was given, for the few
/// answers made outside the engine (the public FHIR CapabilityStatement's
/// date), so they read the same clock as everything else.
static PROCESS_CLOCK: std::sync::OnceLock<Arc<TestClock>> = std::sync::OnceLock::new();

/// The test clock's instant when one is set, else `real`.
pub fn now_or(real: DateTime<Utc>) -> DateTime<Utc> {
    PROCESS_CLOCK
        .get()
        .and_then(|c| c.now().ok())
        .unwrap_or(real)
}

impl TestClock {
    /// Opens the clock; refuses a file that does not hold an instant now.
    pub fn open(path: &Path) -> Result<Arc<Self>> {
        let first = read(path)?;
        let clock = Arc::new(TestClock {
            path: path.to_owned(),
            last: Mutex::new(first),
        });
        let _ = PROCESS_CLOCK.set(clock.clone());
        Ok(clock)
    }

    /// The instant in the file, never earlier than the last one read.
    pub fn now(&self) -> Result<DateTime<Utc>, Trap> {
        let read = read(&self.path).map_err(|e| Trap(format!("{e:#}")))?;
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        *last = read.max(*last);
        Ok(*last)
    }
}

/// An engine instance whose commands and queries are dated by a [`TestClock`].
struct Clocked {
    inner: Box<dyn EngineBackend>,
    clock: Arc<TestClock>,
}

impl EngineBackend for Clocked {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn execute(&mut self, req: &Request) -> Result<Result<Executed, Refusal>, Trap> {
        let req = Request {
            at: self.clock.now()?,
            ..req.clone()
        };
        self.inner.execute(&req)
    }

    fn query(
        &mut self,
        actor: &Actor,
        q: &Query,
        _now: DateTime<Utc>,
    ) -> Result<Result<Answer, Refusal>, Trap> {
        let now = self.clock.now()?;
        self.inner.query(actor, q, now)
    }

    fn query_over(
        &mut self,
        actor: &Actor,
        q: &Query,
        _now: DateTime<Utc>,
        entries: &[Entry],
    ) -> Result<Result<Answer, Refusal>, Trap> {
        let now = self.clock.now()?;
        self.inner.query_over(actor, q, now, entries)
    }

    fn restore(&mut self, snapshot: Option<&[u8]>, tail: Vec<Entry>) -> Result<()> {
        self.inner.restore(snapshot, tail)
    }

    fn rebuild(&mut self, entries: Vec<Entry>) -> Result<()> {
        self.inner.rebuild(entries)
    }

    fn snapshot(&mut self) -> Result<Vec<u8>, Trap> {
        self.inner.snapshot()
    }

    fn forget_through(&mut self, seq: u64) -> Result<(), Trap> {
        self.inner.forget_through(seq)
    }

    fn seq(&mut self) -> Result<u64, Trap> {
        self.inner.seq()
    }
}

/// Wraps `factory` so that every instance it makes is dated by `clock`.
pub fn clocked(factory: BackendFactory, clock: Arc<TestClock>) -> BackendFactory {
    Arc::new(move || {
        Ok(Box::new(Clocked {
            inner: factory()?,
            clock: clock.clone(),
        }) as Box<dyn EngineBackend>)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::NativeBackend;
    use enlace_core::{Command, Role};

    #[test]
    fn commands_and_queries_take_the_file_instant_which_never_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        assert!(TestClock::open(&path).is_err(), "a missing file is refused");
        std::fs::write(&path, "yesterday").unwrap();
        assert!(TestClock::open(&path).is_err(), "a non-instant is refused");

        std::fs::write(&path, "2026-03-02T12:00:00Z\n").unwrap();
        let clock = TestClock::open(&path).unwrap();
        let factory: BackendFactory = Arc::new(|| Ok(Box::new(NativeBackend::new()) as _));
        let mut engine = clocked(factory, clock.clone())().unwrap();
        let admin = Actor::new("admin", "red", None, Role::Admin);
        let wall = Utc::now();
        let req = |name: &str| Request {
            actor: admin.clone(),
            at: wall,
            key: None,
            command: Command::DeclareHoliday {
                date: "2026-05-01".parse().unwrap(),
                name: name.into(),
            },
        };
        std::fs::write(&path, "2026-03-02T09:30:00-03:00").unwrap();
        let e = engine.execute(&req("a")).unwrap().unwrap();
        assert_eq!(
            e.entry.unwrap().at.to_rfc3339(),
            "2026-03-02T12:30:00+00:00"
        );
        std::fs::write(&path, "2026-03-01T00:00:00Z").unwrap();
        let e = engine.execute(&req("b")).unwrap().unwrap();
        assert_eq!(
            e.entry.unwrap().at.to_rfc3339(),
            "2026-03-02T12:30:00+00:00",
            "the clock never goes backwards"
        );
        std::fs::write(&path, "not a time").unwrap();
        assert!(
            engine.execute(&req("c")).is_err(),
            "an unreadable clock fails loudly"
        );
    }
}
