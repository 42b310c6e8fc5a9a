//! The component face: `dist/enlace.component.wasm`, and its checks in
//! wasmtime and under jco.
//!
//! - [`build`]: `cargo build` of enlace-wasm for wasm32-unknown-unknown with
//!   the `component` feature and the size profile (symbols stripped), then
//!   wit-component's `ComponentEncoder` (as a library: no CLI, no adapter,
//!   no WASI). Checks that the component imports nothing, prints raw and
//!   gzip sizes and fails over the 1.5 MB budget.
//! - [`test_steps`]: the component steps of `cargo xtask test`.

use crate::setup::{self, run};
use crate::{Error, Result, Step};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The raw size budget of the component: 1.5 MB (issue 16; it was 1 MB in
/// issue 4). On a server its speed matters far more than its size.
pub const RAW_BUDGET: u64 = 1500 * 1000;

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "wasm-release";

/// Where the component goes, relative to the repository root.
pub const COMPONENT: &str = "dist/enlace.component.wasm";

fn ctx<T, E: std::fmt::Display>(
    r: std::result::Result<T, E>,
    what: impl FnOnce() -> String,
) -> Result<T> {
    r.map_err(|e| Error::new(format!("{}: {e:#}", what())))
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Builds `dist/enlace.component.wasm` and checks its size budget.
pub fn build(root: &Path) -> Result<()> {
    let started = Instant::now();
    setup::ensure_rust_target(TARGET)?;
    let mut cmd = crate::cargo();
    cmd.current_dir(root)
        // Only for this face: the name section goes (about -11 KB); the
        // `component-type` custom section wit-bindgen embeds survives it.
        // (The browser face keeps `debuginfo`: wasm-bindgen reads sections
        // that `strip = "symbols"` would not touch but `true` would.)
        // `ENLACE_COMPONENT_STRIP=debuginfo` keeps the names, for profiles.
        .env(
            "CARGO_PROFILE_WASM_RELEASE_STRIP",
            std::env::var("ENLACE_COMPONENT_STRIP").unwrap_or_else(|_| "symbols".into()),
        )
        // Opt-level "3" rather than the profile's "s" (issue 16): the
        // fastest level within the 1.5 MB budget. Measured in one run
        // (BENCHMARKS.md): "z" 960 KB, "s" ~1.1 MB, "3" 1,291 KB, and "3"
        // is the fastest for booking and free-slot search alike.
        // `ENLACE_COMPONENT_OPT_LEVEL` overrides it for measurements.
        .env(
            "CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL",
            std::env::var("ENLACE_COMPONENT_OPT_LEVEL").unwrap_or_else(|_| "3".into()),
        )
        .args(["build", "-p", "enlace-wasm", "--lib", "--target", TARGET])
        .args(["--profile", PROFILE, "--no-default-features"])
        .args(["--features", "component"]);
    run(&mut cmd)?;
    // The browser build writes the same file: read it right away.
    let built = target_dir(root)
        .join(TARGET)
        .join(PROFILE)
        .join("enlace_wasm.wasm");
    let module = ctx(std::fs::read(&built), || {
        format!("reading {}", built.display())
    })?;

    let component = encode(&module)?;
    let path = root.join(COMPONENT);
    if let Some(dir) = path.parent() {
        ctx(std::fs::create_dir_all(dir), || {
            format!("creating {}", dir.display())
        })?;
    }
    ctx(std::fs::write(&path, &component), || {
        format!("writing {}", path.display())
    })?;

    let raw = component.len() as u64;
    let gzip = gzip_len(&component)?;
    println!(
        "component: {} ({:.1} s)\n  raw {}  gzip {}  (core module {}; budget: raw <= {}); imports: none",
        path.display(),
        started.elapsed().as_secs_f64(),
        kb(raw),
        kb(gzip),
        kb(module.len() as u64),
        kb(RAW_BUDGET),
    );
    if raw > RAW_BUDGET {
        return Err(Error::new(format!(
            "the component is {} raw, over the {} budget",
            kb(raw),
            kb(RAW_BUDGET)
        )));
    }
    Ok(())
}

/// Turns the core module into a component and checks that it imports
/// nothing.
///
/// `wit_bindgen::generate!` embedded the world in the module (the
/// `component-type:…` custom section), so the encoder needs neither the WIT
/// files nor a WASI adapter.
fn encode(module: &[u8]) -> Result<Vec<u8>> {
    let component = ctx(
        wit_component::ComponentEncoder::default()
            .module(module)
            .and_then(|e| e.validate(true).encode()),
        || "encoding the component (wit-component)".to_owned(),
    )?;
    let decoded = ctx(wit_component::decode(&component), || {
        "reading back the component's world".to_owned()
    })?;
    let (resolve, world) = match &decoded {
        wit_component::DecodedWasm::Component(resolve, world) => (resolve, *world),
        wit_component::DecodedWasm::WitPackage(..) => {
            return Err(Error::new(
                "the encoder produced a WIT package, not a component",
            ));
        }
    };
    let imports: Vec<String> = resolve.worlds[world]
        .imports
        .keys()
        .map(|k| resolve.name_world_key(k))
        .collect();
    if !imports.is_empty() {
        return Err(Error::new(format!(
            "the component must import nothing, but imports: {}",
            imports.join(", ")
        )));
    }
    Ok(component)
}

fn gzip_len(bytes: &[u8]) -> Result<u64> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    ctx(gz.write_all(bytes), || "gzip".to_owned())?;
    Ok(ctx(gz.finish(), || "gzip".to_owned())?.len() as u64)
}

/// Bytes as KB (1000 bytes) with one decimal, and the exact count.
fn kb(bytes: u64) -> String {
    format!("{:.1} KB ({bytes} B)", bytes as f64 / 1000.0)
}

/// The folder of the jco runner.
fn js_dir(root: &Path) -> PathBuf {
    root.join("tests/js")
}

/// `npm install` of the jco runner's locked packages when `node_modules` is
/// missing or older than the lockfile.
///
/// Not `npm ci`: npm 11 records only this platform's optional packages in a
/// lockfile it writes, then `npm ci` refuses that very lockfile
/// (npm/cli#8805). `npm install` installs the locked versions and leaves the
/// lockfile as it is.
fn npm_install(root: &Path) -> Result<()> {
    setup::ensure_node()?;
    let dir = js_dir(root);
    if !setup::npm_ci_needed(&dir) {
        println!("setup: {}/node_modules: up to date", dir.display());
        return Ok(());
    }
    run(Command::new("npm").current_dir(&dir).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))
}

/// Plays the scenario corpus on the component under jco in Node: writes
/// `dist/scenarios.json`, transpiles the component and compares every
/// outcome with the committed expected files.
pub fn jco_scenarios(root: &Path) -> Result<()> {
    npm_install(root)?;
    run(crate::cargo().current_dir(root).args([
        "run",
        "--quiet",
        "-p",
        "enlace-tests",
        "--bin",
        "expand_scenarios",
    ]))?;
    run(Command::new("node")
        .current_dir(root)
        .arg("tests/js/run-jco.mjs"))
}

/// The component steps of `cargo xtask test` that follow the workspace's
/// Rust tests. Those include the wasmtime face (`tests/tests/component.rs`)
/// and need [`build`] to have run before them: `main` puts that step first.
pub fn test_steps(root: &Path) -> Vec<Step> {
    let root = root.to_path_buf();
    vec![Step::new(
        "component: scenario corpus under jco in Node",
        move || jco_scenarios(&root),
    )]
}
