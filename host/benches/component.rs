//! The engine natively and as a component in wasmtime, side by side in one
//! run: booking and free-slot search per operation, the component's cold
//! start from its precompiled artifact, and per-instance instantiation.
//!
//! `cargo bench -p enlace-host --bench component` (needs
//! `dist/enlace.component.wasm`: `cargo xtask build`). It prints a table
//! with the component / native ratio of each operation; the target (issue
//! 16) is a ratio of at most 1.5 for booking and free-slot search, boundary
//! crossing included.
//!
//! What the component figures include: core types converted to WIT values
//! on the host, lowered into the instance, lifted and converted to core
//! types in the guest, the engine's work, and the way back. This is what a
//! server pays. A second line per operation shows the same calls with WIT
//! values prepared in advance (no host-side conversion).
//!
//! Environment: `ENLACE_BENCH_SCALE` (default 1.0) scales the network and
//! the iteration counts. Run without `--bench` (as `cargo test --benches`
//! does) it runs once at a tiny scale as a functional check; its figures
//! then mean nothing.

use chrono::{DateTime, Duration, Utc};
use enlace_core::synth::{self, Rng, Spec};
use enlace_core::{Actor, Answer, Engine, Query, Request};
use enlace_host::component::{
    ArtifactSource, ComponentEngine, Options, Runtime, WASMTIME_VERSION, convert::WitType, wit,
};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

struct Row {
    what: String,
    native: Option<f64>,
    component: f64,
    unit: &'static str,
    target: &'static str,
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let scale: f64 = if bench {
        std::env::var("ENLACE_BENCH_SCALE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1.0)
    } else {
        0.02
    };
    let n = |full: f64, floor: f64| (full * scale).max(floor).round() as usize;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist/enlace.component.wasm");
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build` first",
        path.display()
    );

    // The network: 100 facilities (80 tier-1), 300 agendas, 5,000
    // beneficiaries, 120-day horizon, 15-minute slots.
    let spec = Spec {
        tier1: n(80.0, 3.0) as u32,
        tier2: n(16.0, 2.0) as u32,
        tier3: n(4.0, 1.0) as u32,
        agendas_per_facility: 3,
        beneficiaries: n(5000.0, 200.0) as u32,
        ..Spec::demo()
    };
    let mut base = Engine::new();
    for r in synth::reference(&spec) {
        base.execute(r).expect("the network seeds");
    }
    // Bookings that the network accepts, in order: some background load,
    // then the timed ones.
    let (background, timed) = (n(5000.0, 50.0), n(5000.0, 50.0));
    let mut rng = Rng::new(11);
    let mut accepted: Vec<Request> = Vec::new();
    let mut scratch = base.clone();
    while accepted.len() < background + timed {
        let r = synth::booking(&spec, &mut rng);
        if scratch.execute(r.clone()).is_ok() {
            accepted.push(r);
        }
    }
    let timed_requests = accepted.split_off(background);
    for r in accepted {
        base.execute(r).expect("accepted before");
    }
    println!(
        "network: {} facilities, {} agendas, {} beneficiaries; {} entries in the journal; {} timed bookings",
        spec.tier1 + spec.tier2 + spec.tier3,
        (spec.tier1 + spec.tier2 + spec.tier3) * spec.agendas_per_facility,
        spec.beneficiaries,
        base.journal().len(),
        timed_requests.len()
    );

    // `ENLACE_BENCH_PROFILE=booking` (or `search`): only that component
    // loop, 20 rounds, for a profiler. With `ENLACE_PERFMAP_TMP=1` wasmtime
    // writes `/tmp/perf-<pid>.map`, which names the JIT code for `perf
    // report` (build the component with names kept for readable symbols).
    if let Ok(what) = std::env::var("ENLACE_BENCH_PROFILE") {
        profile(&what, &path, &spec, &base, &timed_requests);
        return;
    }

    // Cold start: compile, then map in the cached artifact.
    let cache = std::env::temp_dir().join(format!("enlace-bench-cwasm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let cached = Options {
        cache_dir: Some(cache.clone()),
        ..Options::default()
    };
    let compile_ms = median(3, || {
        let t = Instant::now();
        let rt = Runtime::load_with(
            &path,
            &Options {
                no_cache: true,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(rt.report().source, ArtifactSource::Compiled);
        t.elapsed().as_secs_f64() * 1e3
    });
    let runtime = Runtime::load_with(&path, &cached).unwrap();
    let artifact_bytes = runtime.report().artifact_bytes;
    let mut parts = Vec::new();
    let load_ms = median(15, || {
        let t = Instant::now();
        let rt = Runtime::load_with(&path, &cached).unwrap();
        let elapsed = t.elapsed().as_secs_f64() * 1e3;
        let r = rt.report();
        assert_eq!(r.source, ArtifactSource::Cached);
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        parts.push((ms(r.read_and_hash), ms(r.compile_or_map), ms(r.link)));
        elapsed
    });
    parts.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (hash_ms, map_ms, link_ms) = parts[parts.len() / 2];
    let first_engine_ms = median(15, || {
        let t = Instant::now();
        let rt = Runtime::load_with(&path, &cached).unwrap();
        let mut e = ComponentEngine::new(&rt).unwrap();
        black_box(e.seq().unwrap());
        t.elapsed().as_secs_f64() * 1e3
    });
    let instances = n(2000.0, 20.0);
    let t = Instant::now();
    for _ in 0..instances {
        black_box(ComponentEngine::new(&runtime).unwrap());
    }
    let instantiate_us = t.elapsed().as_secs_f64() * 1e6 / instances as f64;

    // Rebuild from the journal: native replay vs inside the component.
    let journal = base.journal().to_vec();
    let native_rebuild_ms = median(3, || {
        let entries = journal.clone();
        let t = Instant::now();
        black_box(Engine::from_entries(entries).unwrap());
        t.elapsed().as_secs_f64() * 1e3
    });
    let component_rebuild_ms = median(3, || {
        let t = Instant::now();
        black_box(ComponentEngine::from_journal(&runtime, &journal).unwrap());
        t.elapsed().as_secs_f64() * 1e3
    });

    // Booking: the same accepted requests, each engine starting from the
    // same state. Three rounds; the median round.
    let rounds = 3;
    let per_op =
        |total: std::time::Duration| total.as_secs_f64() * 1e6 / timed_requests.len() as f64;
    let native_book = median(rounds, || {
        let mut e = base.clone();
        let reqs = timed_requests.clone();
        let t = Instant::now();
        for r in reqs {
            black_box(e.execute(r).unwrap());
        }
        per_op(t.elapsed())
    });
    let component_book = median(rounds, || {
        let mut e = ComponentEngine::from_journal(&runtime, &journal).unwrap();
        let reqs = timed_requests.clone();
        let t = Instant::now();
        for r in reqs {
            black_box(e.execute(r).unwrap().unwrap());
        }
        per_op(t.elapsed())
    });
    let component_book_wit = median(rounds, || {
        let mut e = ComponentEngine::from_journal(&runtime, &journal).unwrap();
        let reqs: Vec<wit::Request> = timed_requests
            .iter()
            .cloned()
            .map(WitType::into_wit)
            .collect();
        let t = Instant::now();
        for r in &reqs {
            black_box(e.execute_wit(r).unwrap().unwrap());
        }
        per_op(t.elapsed())
    });

    // Free-slot search: the earliest 10 prenatal slots in the whole network
    // over two weeks, as a first-level clerk, on the state after bookings.
    let mut native = base.clone();
    let mut component = ComponentEngine::from_journal(&runtime, &journal).unwrap();
    for r in &timed_requests {
        native.execute(r.clone()).unwrap();
        component.execute(r.clone()).unwrap().unwrap();
    }
    let (clerk, now, query) = prenatal_search(&spec);
    let expected = native.query(&clerk, &query, now).unwrap();
    assert!(matches!(&expected, Answer::FreeSlots(s) if s.len() == 10));
    assert_eq!(
        component.query(clerk.clone(), query.clone(), now).unwrap(),
        Ok(expected.clone())
    );
    let searches = n(3000.0, 30.0);
    let native_search = median(rounds, || {
        let t = Instant::now();
        for _ in 0..searches {
            black_box(native.query(&clerk, &query, now).unwrap());
        }
        t.elapsed().as_secs_f64() * 1e6 / searches as f64
    });
    let component_search = median(rounds, || {
        let t = Instant::now();
        for _ in 0..searches {
            black_box(
                component
                    .query(clerk.clone(), query.clone(), now)
                    .unwrap()
                    .unwrap(),
            );
        }
        t.elapsed().as_secs_f64() * 1e6 / searches as f64
    });
    let (wit_actor, wit_query, wit_now) = (
        clerk.clone().into_wit(),
        query.clone().into_wit(),
        now.into_wit(),
    );
    let component_search_wit = median(rounds, || {
        let t = Instant::now();
        for _ in 0..searches {
            black_box(
                component
                    .query_wit(&wit_actor, &wit_query, &wit_now)
                    .unwrap()
                    .unwrap(),
            );
        }
        t.elapsed().as_secs_f64() * 1e6 / searches as f64
    });
    assert_eq!(component.head().unwrap(), native.state().head());

    let rows = [
        Row {
            what: "booking (execute, journal entry included), per op".into(),
            native: Some(native_book),
            component: component_book,
            unit: "µs",
            target: "≤ 1.5×",
        },
        Row {
            what: "  same, WIT values prepared in advance".into(),
            native: Some(native_book),
            component: component_book_wit,
            unit: "µs",
            target: "",
        },
        Row {
            what: "free-slot search (10 earliest prenatal, whole network), per op".into(),
            native: Some(native_search),
            component: component_search,
            unit: "µs",
            target: "≤ 1.5×",
        },
        Row {
            what: "  same, WIT values prepared in advance".into(),
            native: Some(native_search),
            component: component_search_wit,
            unit: "µs",
            target: "",
        },
        Row {
            what: format!("rebuild from the journal ({} entries)", journal.len()),
            native: Some(native_rebuild_ms),
            component: component_rebuild_ms,
            unit: "ms",
            target: "",
        },
        Row {
            what: "cold start: compile the component (Cranelift, no cache)".into(),
            native: None,
            component: compile_ms,
            unit: "ms",
            target: "",
        },
        Row {
            what: format!(
                "cold start: load from the precompiled artifact ({artifact_bytes} B; read + SHA-256 key + map + link)"
            ),
            native: None,
            component: load_ms,
            unit: "ms",
            target: "",
        },
        Row {
            what: format!(
                "  of which: read + SHA-256 {hash_ms:.2} ms, map the artifact {map_ms:.2} ms, link {link_ms:.3} ms"
            ),
            native: None,
            component: hash_ms + map_ms + link_ms,
            unit: "ms",
            target: "",
        },
        Row {
            what: "cold start: load from the artifact + first engine ready".into(),
            native: None,
            component: first_engine_ms,
            unit: "ms",
            target: "",
        },
        Row {
            what: "new instance per engine (Store + InstancePre + constructor)".into(),
            native: None,
            component: instantiate_us,
            unit: "µs",
            target: "",
        },
    ];
    println!(
        "\ncomponent {} ({} B), wasmtime {WASMTIME_VERSION}, scale {scale}",
        path.display(),
        runtime.report().component_bytes
    );
    println!("\n| measure | native | component (wasmtime) | ratio | target |");
    println!("|---|---|---|---|---|");
    for r in rows {
        let (native, ratio) = match r.native {
            Some(v) => (
                format!("{} {}", fmt(v), r.unit),
                format!("{:.2}×", r.component / v),
            ),
            None => ("—".into(), "—".into()),
        };
        println!(
            "| {} | {native} | {} {} | {ratio} | {} |",
            r.what,
            fmt(r.component),
            r.unit,
            r.target
        );
    }
    let _ = std::fs::remove_dir_all(&cache);
}

/// The component's booking or search loop alone, for a profiler.
fn profile(what: &str, path: &std::path::Path, spec: &Spec, base: &Engine, requests: &[Request]) {
    let cache = std::env::temp_dir().join(format!("enlace-profile-cwasm-{}", std::process::id()));
    let runtime = Runtime::load_with(
        path,
        &Options {
            cache_dir: Some(cache.clone()),
            ..Options::default()
        },
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&cache);
    // Each round restores the same state from a snapshot: cheap next to
    // the loop (a rebuild from the journal would verify every entry).
    let snapshot = ComponentEngine::from_journal(&runtime, base.journal())
        .unwrap()
        .snapshot()
        .unwrap();
    let (clerk, now, query) = prenatal_search(spec);
    if what == "hash" {
        // What a host-provided SHA-256 would cost instead of the guest's:
        // hashing a booking entry's JSON natively, and a call into the
        // instance that does nothing (`seq`) for the crossing.
        use sha2::Digest;
        let mut e = ComponentEngine::from_snapshot(&runtime, &snapshot, &[]).unwrap();
        let mut native = base.clone();
        native.execute(requests[0].clone()).unwrap();
        let json = serde_json::to_vec(native.journal().last().unwrap()).unwrap();
        let n = 200_000;
        let t = Instant::now();
        for _ in 0..n {
            black_box(sha2::Sha256::digest(black_box(&json)));
        }
        let sha = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        let t = Instant::now();
        for _ in 0..n {
            black_box(e.seq().unwrap());
        }
        let call = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        eprintln!(
            "native SHA-256 of a booking entry's JSON ({} B): {sha:.3} µs; an empty call into the instance: {call:.3} µs",
            json.len()
        );
        return;
    }
    let t = Instant::now();
    let mut ops = 0;
    for _ in 0..20 {
        let mut e = ComponentEngine::from_snapshot(&runtime, &snapshot, &[]).unwrap();
        if what == "search" {
            for r in requests {
                e.execute(r.clone()).unwrap().unwrap();
            }
        }
        let t = Instant::now();
        for r in requests {
            if what == "search" {
                black_box(e.query(clerk.clone(), query.clone(), now).unwrap().unwrap());
            } else {
                black_box(e.execute(r.clone()).unwrap().unwrap());
            }
        }
        ops += requests.len();
        eprintln!(
            "{what}: {:.2} µs per op",
            t.elapsed().as_secs_f64() * 1e6 / requests.len() as f64
        );
    }
    eprintln!("{ops} ops in {:.1} s", t.elapsed().as_secs_f64());
}

/// The free-slot search measured: the earliest 10 prenatal slots in the
/// whole network over two weeks, asked by a first-level clerk.
fn prenatal_search(spec: &Spec) -> (Actor, DateTime<Utc>, Query) {
    let clerk = Actor::new(
        "registro",
        synth::CLINIC_AGENCY,
        Some(&synth::facility_id(0)),
        enlace_core::Role::Clerk,
    );
    let now: DateTime<Utc> = spec.start;
    let query = Query::FreeSlots {
        service: "prenatal".into(),
        region: None,
        tier: None,
        facilities: vec![],
        from: now,
        to: now + Duration::days(14),
        limit: 10,
        for_referral: false,
    };
    (clerk, now, query)
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The median of `k` runs of `f`.
fn median(k: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut v: Vec<f64> = (0..k).map(|_| f()).collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
