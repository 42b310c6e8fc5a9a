//! The committed TypeScript declarations must be exactly what the Rust types
//! generate: a change to a command, event, query or answer that is not
//! followed by `cargo xtask codegen` fails here.

#[test]
fn committed_declarations_are_current() {
    let path = enlace_wasm::typescript::committed_path();
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask codegen`", path.display()));
    let generated = enlace_wasm::typescript::definitions();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is stale (first difference at line {}): run `cargo xtask codegen` and commit it",
            path.display(),
            line + 1
        );
    }
}

#[test]
fn declarations_cover_every_boundary_type() {
    let ts = enlace_wasm::typescript::definitions();
    for name in [
        "Request",
        "Command",
        "Event",
        "Query",
        "Answer",
        "Entry",
        "Outcome",
        "ErrorBody",
        "Verification",
        "ChainBreak",
        "Actor",
        "Role",
        "ExecuteResult",
        "QueryResult",
    ] {
        assert!(
            ts.contains(&format!("export type {name} =")),
            "no declaration for {name}"
        );
    }
    // Large integers are plain numbers on this boundary (json_compatible).
    assert!(!ts.contains("bigint"), "a 64-bit integer became bigint");
}
