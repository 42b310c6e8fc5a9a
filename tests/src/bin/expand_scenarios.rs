//! Writes the expanded scenario corpus for the runners outside Rust (the
//! browser package in Node, the component under jco or Python): every
//! scenario of `tests/scenarios/` with its seeding requests and resolved
//! actors, exactly as the native runner plays it.
//!
//! `cargo run -p enlace-tests --bin expand_scenarios [-- OUT]` writes
//! `dist/scenarios.json` (or OUT): a JSON array of
//! `{name, seed, steps, file, expected}`, where `file` and `expected` are
//! the scenario's and its committed outcomes' paths relative to the
//! repository root. Runners compare with the committed `expected` file
//! directly, never with a copy.

use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf();
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("dist/scenarios.json"));
    let relative = |p: &Path| {
        p.strip_prefix(&root)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let all: Vec<serde_json::Value> = enlace_tests::load_all()
        .into_iter()
        .map(|(path, scenario)| {
            let mut expanded = enlace_tests::expand(&scenario);
            expanded["file"] = relative(&path).into();
            expanded["expected"] = relative(&enlace_tests::expected_path(&path)).into();
            expanded
        })
        .collect();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("can create the output folder");
    }
    let text = serde_json::to_string(&all).expect("JSON values serialise");
    std::fs::write(&out, text).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    println!("{} scenarios -> {}", all.len(), out.display());
}
