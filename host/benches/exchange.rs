//! Sealing and verifying exchanged records natively and in the component,
//! side by side in one run (issue 12): per record, and records per second
//! on one core. The goal: verification of at least 20,000 records/s per
//! core natively.
//!
//! `cargo bench -p enlace-host --bench exchange` (needs
//! `dist/enlace.component.wasm`: `cargo xtask build`). The records are the
//! golden vectors' (`tests/vectors/exchange.json`), a referral of about
//! 1 KB among them. Run without `--bench` (as `cargo test --benches` does)
//! it runs a few iterations as a functional check; its figures then mean
//! nothing.

use enlace_core::exchange::{Signer, TrustList};
use enlace_host::component::Runtime;
use serde_json::Value;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rounds = if bench { 4_000 } else { 5 };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/vectors/exchange.json")).unwrap(),
    )
    .unwrap();
    let trust = TrustList::from_json(&vectors["trust"].to_string()).unwrap();
    let sealed: Vec<Sample> = vectors["sealed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let seed = base64_url(
                vectors["keys"][v["key"].as_str().unwrap()]["d"]
                    .as_str()
                    .unwrap(),
            );
            (
                seed,
                v["seal"].as_str().unwrap().to_owned(),
                v["payload"].as_str().unwrap().as_bytes().to_vec(),
                v["at"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let records = (rounds * sealed.len()) as f64;
    let bytes: usize = sealed.iter().map(|s| s.2.len()).sum();

    let per_record = |f: &mut dyn FnMut()| {
        // Best of three passes: the machine is shared.
        (0..3)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..rounds {
                    f();
                }
                t.elapsed().as_secs_f64() / records
            })
            .fold(f64::INFINITY, f64::min)
    };
    let signers: Vec<Signer> = sealed
        .iter()
        .map(|s| Signer::from_seed(&s.0).unwrap())
        .collect();
    let native_seal = per_record(&mut || {
        for (s, signer) in sealed.iter().zip(&signers) {
            black_box(signer.seal(&s.2));
        }
    });
    let native_verify_seal = per_record(&mut || {
        for s in &sealed {
            black_box(trust.verify_seal(&s.1, &s.2, s.3).unwrap());
        }
    });
    let native_verify = per_record(&mut || {
        for s in &sealed {
            black_box(trust.verify(&s.1, &s.2, s.3).unwrap());
        }
    });

    let path = root.join("dist/enlace.component.wasm");
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build` first",
        path.display()
    );
    let runtime = Runtime::load(&path).unwrap();
    let mut component = runtime.exchange().unwrap();
    // The component's key is expanded per call (a seed crosses): the
    // native figure with the same work is shown beside it.
    let native_seal_from_seed = per_record(&mut || {
        for s in &sealed {
            black_box(Signer::from_seed(&s.0).unwrap().seal(&s.2));
        }
    });
    let component_seal = per_record(&mut || {
        for s in &sealed {
            black_box(component.seal_record(&s.0, &s.2).unwrap().unwrap());
        }
    });
    let component_verify_seal = per_record(&mut || {
        for s in &sealed {
            black_box(
                component
                    .verify_seal(&trust, &s.1, &s.2, s.3)
                    .unwrap()
                    .unwrap(),
            );
        }
    });

    println!(
        "signed exchange: {} records ({} bytes of payload on average), best of 3 passes of {rounds} rounds",
        sealed.len(),
        bytes / sealed.len()
    );
    println!(
        "{:<44} {:>10} {:>12} {:>10}",
        "operation", "µs/record", "records/s", "ratio"
    );
    let row = |what: &str, t: f64, base: Option<f64>| {
        println!(
            "{what:<44} {:>10.1} {:>12.0} {:>10}",
            t * 1e6,
            1.0 / t,
            base.map(|b| format!("{:.2}×", t / b)).unwrap_or_default()
        );
    };
    row("native: seal (key expanded once)", native_seal, None);
    row("native: seal from the seed", native_seal_from_seed, None);
    row(
        "component: seal from the seed",
        component_seal,
        Some(native_seal_from_seed),
    );
    row(
        "native: verify seal (trust list + Ed25519)",
        native_verify_seal,
        None,
    );
    row(
        "component: verify seal",
        component_verify_seal,
        Some(native_verify_seal),
    );
    row(
        "native: verify (seal + record read + checks)",
        native_verify,
        None,
    );
    println!(
        "goal: native verification >= 20,000 records/s per core: {:.0}/s ({})",
        1.0 / native_verify,
        if 1.0 / native_verify >= 20_000.0 {
            "met"
        } else {
            "missed"
        }
    );
}

/// A vector's key seed, seal, payload and instant of receipt.
type Sample = (Vec<u8>, String, Vec<u8>, chrono::DateTime<chrono::Utc>);

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}
