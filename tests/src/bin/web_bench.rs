//! The native half of the browser-package benchmark (`cargo xtask bench-web`).
//!
//! Builds a mid-sized synthetic network, generates the workload — booking
//! requests and free-slot searches — measures it natively on enlace-core,
//! and writes workload and figures to one JSON file (default
//! `dist/bench-web.json`). `tests/node/bench.mjs` then replays exactly the
//! same workload through the browser package in Node, checks that it reaches
//! the same journal head and the same answers, and prints both figures side
//! by side with their ratio.
//!
//! Run it with `--release`: `cargo run --release -p enlace-tests --bin web_bench [-- OUT]`.

use enlace_core::synth::{self, Rng, Spec};
use enlace_core::{Actor, Engine, Query, Request, Role};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Booking requests per round.
const BOOKINGS: usize = 2_000;
/// Timed rounds; the median is reported (one untimed warm-up round first).
const ROUNDS: usize = 7;
/// Searches per round, for each query.
const SEARCHES: usize = 200;

fn main() {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            manifest
                .parent()
                .unwrap_or(&manifest)
                .join("dist/bench-web.json")
        });

    // 50 facilities (45 clinics, 4 hospitals, 1 specialty hospital), 200
    // agendas, 5,000 beneficiaries: big enough for searches to scan many
    // agendas, small enough to seed a page in well under a second.
    let spec = Spec {
        tier1: 45,
        tier2: 4,
        tier3: 1,
        agendas_per_facility: 4,
        beneficiaries: 5_000,
        ..Spec::demo()
    };
    let mut seeded = Engine::new();
    for r in synth::reference(&spec) {
        let name = r.command.name();
        if let Err(e) = seeded.execute(r) {
            panic!("seeding refused {name}: {e}");
        }
    }
    let mut rng = Rng::new(2026);
    let bookings: Vec<Request> = (0..BOOKINGS)
        .map(|_| synth::booking(&spec, &mut rng))
        .collect();

    // Bookings: execute the same requests on a fresh copy of the seeded
    // engine each round (some are refused: slot taken, double booking).
    let mut book_us = Vec::new();
    let mut booked = seeded.clone();
    let mut accepted = 0;
    for round in 0..=ROUNDS {
        let mut engine = seeded.clone();
        let requests = bookings.clone();
        let t = Instant::now();
        let mut ok = 0;
        for r in requests {
            ok += usize::from(engine.execute(r).is_ok());
        }
        let per_op = t.elapsed().as_secs_f64() * 1e6 / BOOKINGS as f64;
        if round > 0 {
            book_us.push(per_op);
        }
        accepted = ok;
        booked = engine;
    }

    // A retry: a keyed request already answered is replayed from the
    // journal. Core does little (parse, hash the key, copy the events), so
    // this isolates the cost of crossing the boundary.
    let mut retry = bookings
        .iter()
        .find(|r| seeded.clone().execute((*r).clone()).is_ok())
        .cloned()
        .expect("a booking is accepted");
    retry.key = Some("bench-retry".into());
    let mut with_retry = seeded.clone();
    let first = with_retry.execute(retry.clone()).expect("accepted");
    let mut retry_us = Vec::new();
    for round in 0..=ROUNDS {
        let requests = vec![retry.clone(); SEARCHES];
        let t = Instant::now();
        for r in requests {
            std::hint::black_box(with_retry.execute(r).is_ok());
        }
        if round > 0 {
            retry_us.push(t.elapsed().as_secs_f64() * 1e6 / SEARCHES as f64);
        }
    }

    // Free-slot searches on the booked network.
    let clerk = Actor::new("registro", synth::CLINIC_AGENCY, Some("F0001"), Role::Clerk);
    let coordinator = Actor::new(
        "coord",
        synth::HOSPITAL_AGENCY,
        Some(&synth::facility_id(spec.tier1)),
        Role::Coordinator,
    );
    let day = |d: i64| spec.start + chrono::Duration::days(d);
    let now = spec.start + chrono::Duration::hours(1);
    let searches: Vec<(&str, Actor, Query)> = vec![
        (
            "free_slots gp, whole network, 7 days, 10 slots",
            clerk.clone(),
            Query::FreeSlots {
                service: "gp".into(),
                region: None,
                tier: None,
                facilities: vec![],
                from: day(1),
                to: day(8),
                limit: 10,
                for_referral: false,
            },
        ),
        (
            "free_slots obs-hr, tier 2 for referral, 14 days, 5 slots",
            coordinator,
            Query::FreeSlots {
                service: "obs-hr".into(),
                region: None,
                tier: Some(enlace_core::facility::Tier::Second),
                facilities: vec![],
                from: day(1),
                to: day(15),
                limit: 5,
                for_referral: true,
            },
        ),
    ];
    let mut query_results = Vec::new();
    for (name, actor, query) in &searches {
        let answer = booked
            .query(actor, query, now)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut us = Vec::new();
        for round in 0..=ROUNDS {
            let t = Instant::now();
            for _ in 0..SEARCHES {
                std::hint::black_box(booked.query(actor, query, now).is_ok());
            }
            if round > 0 {
                us.push(t.elapsed().as_secs_f64() * 1e6 / SEARCHES as f64);
            }
        }
        query_results.push(json!({
            "name": name,
            "actor": actor,
            "query": query,
            "now": now,
            "answer": answer,
            "native_us": median(&mut us),
        }));
    }

    let doc = json!({
        "network": {
            "facilities": spec.tier1 + spec.tier2 + spec.tier3,
            "agendas": (spec.tier1 + spec.tier2 + spec.tier3) * spec.agendas_per_facility,
            "beneficiaries": spec.beneficiaries,
            "journal_entries": seeded.journal().len(),
        },
        "rounds": ROUNDS,
        "seed_journal": seeded.journal(),
        "seed_head": seeded.state().head(),
        "bookings": {
            "requests": bookings,
            "accepted": accepted,
            "head": booked.state().head(),
            "native_us": median(&mut book_us),
        },
        "retry": {
            "request": retry,
            "outcome": { "seq": first.seq, "events": first.events, "replayed": true },
            "per_round": SEARCHES,
            "native_us": median(&mut retry_us),
        },
        "searches": { "per_round": SEARCHES, "queries": query_results },
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("can create the output folder");
    }
    std::fs::write(&out, serde_json::to_string(&doc).expect("serialisable"))
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    println!(
        "native: {} bookings ({accepted} accepted) {:.2} µs/op; searches {}; workload -> {}",
        BOOKINGS,
        doc["bookings"]["native_us"].as_f64().unwrap_or_default(),
        query_results
            .iter()
            .map(|q| format!("{:.1} µs", q["native_us"].as_f64().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", "),
        out.display()
    );
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
