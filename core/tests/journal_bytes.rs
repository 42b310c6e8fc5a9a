//! Journal entries are hashed over their canonical JSON, so its bytes must
//! never change. Core writes timestamps with its own encoder; this checks a
//! generated journal against chrono's writer, timestamp by timestamp, and
//! that the chain still verifies (the scenario corpus checks its recorded
//! heads, computed before the encoder existed, in `tests/tests/scenarios.rs`).
//!
//! `ENLACE_JOURNAL_BYTES_ENTRIES=1000000 cargo test --release -p enlace-core
//! --test journal_bytes` runs it over a million entries (the engine bench
//! does the same over its 1.5 M-entry journal).

#[path = "common/chrono_text.rs"]
mod chrono_text;

use enlace_core::synth::{self, Rng, Spec};
use enlace_core::{Engine, verify};

#[test]
fn a_generated_journal_writes_timestamps_as_chrono_does() {
    let wanted: usize = std::env::var("ENLACE_JOURNAL_BYTES_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let spec = Spec {
        tier1: 40,
        tier2: 6,
        tier3: 2,
        beneficiaries: 2_000,
        ..Spec::demo()
    };
    let mut engine = Engine::new();
    for req in synth::reference(&spec) {
        engine.execute(req).unwrap();
    }
    let reference = engine.journal().len();
    let wanted = reference + wanted;
    let mut rng = Rng::new(7);
    let mut refused = 0;
    while engine.journal().len() < wanted && refused < wanted * 4 {
        if engine.execute(synth::booking(&spec, &mut rng)).is_err() {
            refused += 1;
        }
    }
    let journal = engine.journal();
    assert_eq!(journal.len(), wanted, "{refused} bookings refused");
    let mut stamps = 0;
    for e in journal {
        stamps +=
            chrono_text::timestamps_as_chrono(e).unwrap_or_else(|m| panic!("entry {}: {m}", e.seq));
    }
    // Every booking has its entry's time, a start and an end.
    assert!(
        stamps >= reference + 3 * (wanted - reference),
        "{stamps} timestamps"
    );
    let v = verify(journal);
    assert_eq!(v.broken, None);
    assert_eq!(v.entries, journal.len() as u64);
}
