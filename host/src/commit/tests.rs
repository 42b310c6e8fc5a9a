//! The writer, its committer and snapshot threads on real journals.

use super::committer::ToCommit;
use super::writer::WriterState;
use super::*;
use crate::backend::{Executed, NativeBackend, Trap};
use chrono::{DateTime, Utc};
use enlace_core::{Entry, ErrorKind, Request, Role};

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
    assert!(matches!(rx.try_recv().unwrap(), Reply::Done(o) if !o.replayed && o.seq == seq + 1));
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
