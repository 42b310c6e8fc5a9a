//! Snapshots and the held journal window: a restored engine is the engine
//! it was saved from; damaged snapshots and tails that do not follow are
//! refused with stable codes and never panic; entries let go still replay
//! their keys and page through `query_over`.

use enlace_core::synth::{self, Rng, Spec};
use enlace_core::{Actor, Answer, Engine, Query, Request, Role};
use proptest::prelude::*;

/// The demo network with `bookings` accepted bookings, each with a key.
fn network(bookings: usize) -> Engine {
    booked(bookings).0
}

/// `network`, and the accepted booking requests in order.
fn booked(bookings: usize) -> (Engine, Vec<Request>) {
    let spec = Spec::demo();
    let mut e = Engine::new();
    for r in synth::reference(&spec) {
        e.execute(r).unwrap();
    }
    let mut rng = Rng::new(7);
    let mut accepted = Vec::new();
    while accepted.len() < bookings {
        let mut req = synth::booking(&spec, &mut rng);
        req.key = Some(format!("b{}", accepted.len()));
        if e.execute(req.clone()).is_ok() {
            accepted.push(req);
        }
    }
    (e, accepted)
}

fn auditor() -> Actor {
    Actor::new("aud", synth::admin().agency.as_str(), None, Role::Auditor)
}

fn trail(after: u64, limit: u32) -> Query {
    Query::AuditTrail {
        facility: Some(synth::facility_id(0)),
        referral: None,
        after,
        limit,
    }
}

#[test]
fn a_restored_engine_is_the_engine_it_was_saved_from() {
    let full = network(300);
    let j = full.journal();
    let cut = j.len() - 40;
    let before = Engine::from_entries(j[..cut].to_vec()).unwrap();
    let restored = Engine::from_snapshot(&before.snapshot(), j[cut..].to_vec()).unwrap();
    assert_eq!(restored.state().fingerprint(), full.state().fingerprint());
    assert_eq!(restored.base(), cut as u64);
    assert_eq!(restored.journal(), &j[cut..]);
    assert_eq!(restored.entries_after(cut as u64 + 10), &j[cut + 10..]);
    let v = restored.verify();
    assert!(v.broken.is_none());
    assert_eq!((v.entries, v.head.as_str()), (40, full.state().head()));
    // A snapshot of the restored engine restores to the same state again
    // (its bytes may differ: hash maps keep no insertion order).
    let again = Engine::from_snapshot(&restored.snapshot(), Vec::new()).unwrap();
    assert_eq!(again.state().fingerprint(), full.state().fingerprint());
}

#[test]
fn a_tail_that_does_not_follow_the_snapshot_is_refused() {
    let full = network(50);
    let j = full.journal();
    let cut = j.len() - 10;
    let snap = Engine::from_entries(j[..cut].to_vec()).unwrap().snapshot();
    for tail in [
        j[cut + 1..].to_vec(), // an entry missing
        j[cut - 1..].to_vec(), // an entry already in the snapshot
        {
            let mut t = j[cut..].to_vec();
            t[3].hash = t[4].hash.clone(); // altered
            t
        },
    ] {
        let err = Engine::from_snapshot(&snap, tail).unwrap_err();
        assert_eq!(err.code(), "invalid_input");
        assert_eq!(err.details()["field"], "journal");
    }
}

#[test]
fn damaged_snapshots_are_refused() {
    let snap = network(20).snapshot();
    let mut other_format = snap.clone();
    other_format[4] ^= 0x7f;
    let mut trailing = snap.clone();
    trailing.push(0);
    for bad in [
        Vec::new(),
        b"not a snapshot".to_vec(),
        snap[..snap.len() / 2].to_vec(),
        other_format,
        trailing,
    ] {
        let err = Engine::from_snapshot(&bad, Vec::new()).unwrap_err();
        assert_eq!(err.code(), "invalid_input");
        assert_eq!(err.details()["field"], "snapshot");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever bytes of a snapshot are altered, restoring never panics: it
    /// is refused, or (when the change hit a value, not the layout) gives a
    /// state whose seq and head are the snapshot's, which the face checks
    /// against its journal.
    #[test]
    fn flipped_bytes_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8)) {
        static SNAP: std::sync::OnceLock<(Vec<u8>, u64)> = std::sync::OnceLock::new();
        let (snap, seq) = SNAP.get_or_init(|| {
            let e = network(30);
            (e.snapshot(), e.state().seq())
        });
        let mut bytes = snap.clone();
        for (i, x) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Ok(e) = Engine::from_snapshot(&bytes, Vec::new()) {
            // Either the layout survived the change or it hit a value.
            let _ = (e.state().seq(), *seq);
        }
    }
}

#[test]
fn entries_let_go_still_replay_their_keys_and_page_through_query_over() {
    let (mut e, requests) = booked(120);
    let full = e.clone();
    let seq = e.state().seq();
    let cut = seq - 30;
    e.forget_through(cut);
    assert_eq!(e.base(), cut);
    assert_eq!(e.journal().len(), 30);
    assert_eq!(e.state().fingerprint(), full.state().fingerprint());
    assert!(e.verify().broken.is_none());
    // Forgetting again, or beyond the end, changes nothing more.
    e.forget_through(cut - 5);
    e.forget_through(u64::MAX);
    assert_eq!(e.base(), seq);
    assert!(e.journal().is_empty());
    assert!(e.verify().broken.is_none());

    let mut e = full.clone();
    e.forget_through(cut);
    let entry_of = |key: &str| {
        full.journal()
            .iter()
            .find(|x| x.key.as_deref() == Some(key))
            .unwrap()
            .clone()
    };
    let old = e.execute(requests[0].clone()).unwrap();
    let entry = entry_of("b0");
    assert!(old.replayed && old.seq == entry.seq && entry.seq <= cut);
    assert!(
        old.events.is_empty(),
        "the face reads a forgotten entry's events"
    );
    let recent = e.execute(requests[119].clone()).unwrap();
    let entry = entry_of("b119");
    assert!(recent.replayed && recent.seq == entry.seq && entry.seq > cut);
    assert_eq!(recent.events, entry.events);
    assert_eq!(e.state().fingerprint(), full.state().fingerprint());

    // An audit trail paged over the forgotten entries, then the held ones,
    // is the whole engine's answer.
    let now = synth::Spec::demo().start;
    let Answer::Entries(expected) = full.query(&auditor(), &trail(0, 1000), now).unwrap() else {
        panic!()
    };
    let mut got = Vec::new();
    for page in full.journal()[..cut as usize].chunks(37) {
        let Answer::Entries(part) = e
            .query_over(&auditor(), &trail(0, 1000), now, page)
            .unwrap()
        else {
            panic!()
        };
        got.extend(part);
    }
    let Answer::Entries(part) = e.query(&auditor(), &trail(cut, 1000), now).unwrap() else {
        panic!()
    };
    got.extend(part);
    assert_eq!(got, expected);
    // The same rules: a clerk may not read it, and only audit_trail pages.
    let clerk = Actor::new("c", "x", Some(&synth::facility_id(0)), Role::Clerk);
    let page = &full.journal()[..10];
    assert_eq!(
        e.query_over(&clerk, &trail(0, 10), now, page)
            .unwrap_err()
            .code(),
        full.query(&clerk, &trail(0, 10), now).unwrap_err().code()
    );
    // Entries a face made up (seq 0) are filtered, never a panic.
    let mut odd = page.to_vec();
    odd[0].seq = 0;
    assert!(e.query_over(&auditor(), &trail(0, 10), now, &odd).is_ok());
    assert_eq!(
        e.query_over(&auditor(), &Query::VerifyAudit, now, page)
            .unwrap_err()
            .code(),
        "invalid_input"
    );
}

#[test]
fn a_follower_applies_entries_decided_elsewhere_and_refuses_a_break() {
    let full = network(60);
    let j = full.journal();
    let mut follower = Engine::from_entries(j[..20].to_vec()).unwrap();
    follower.follow(&j[20..45]).unwrap();
    follower.forget_through(45);
    follower.follow(&j[45..]).unwrap();
    assert_eq!(follower.state().fingerprint(), full.state().fingerprint());
    let before = follower.state().fingerprint();
    // A gap, a repeat or an altered entry is refused and applies nothing.
    let mut extra = network(61);
    let next = extra.journal().last().unwrap().clone();
    let mut altered = next.clone();
    altered.hash = "0".repeat(64);
    for bad in [vec![altered], j[50..52].to_vec()] {
        let b = follower.follow(&bad).unwrap_err();
        assert!(b.reason == "hash_mismatch" || b.reason == "sequence_gap");
        assert_eq!(follower.state().fingerprint(), before);
    }
    follower.follow(std::slice::from_ref(&next)).unwrap();
    extra.forget_through(u64::MAX);
    assert_eq!(follower.state().fingerprint(), extra.state().fingerprint());
}
