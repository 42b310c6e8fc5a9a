//! The browser face: the ES-module package in `dist/web/`, its generated
//! TypeScript types, and its checks and benchmark in Node.
//!
//! - [`build`]: `cargo build` of enlace-wasm for wasm32-unknown-unknown with
//!   the `browser` feature and the size profile, then wasm-bindgen (as a
//!   library, no CLI) into `dist/web/` with a generated `package.json` and
//!   the package README; prints raw and gzip sizes and fails over budget.
//! - [`codegen`]: writes (or checks) `wasm/ts/enlace.d.ts` from the Rust types.
//! - [`test_steps`]: the browser steps of `cargo xtask test`.
//! - [`bench`]: booking and free-slot search, native and through the package
//!   in Node, measured in one run.

use crate::setup::{self, run};
use crate::{Error, Result, Step};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The gzip size budget of the browser `.wasm` (issue 4): 300 KB.
pub const GZIP_BUDGET: u64 = 300 * 1000;

const PROFILE: &str = "wasm-release";
/// Base name of the package files: `enlace.js`, `enlace_bg.wasm`, `enlace.d.ts`.
const OUT_NAME: &str = "enlace";
/// Base name of the seal package's files (`dist/web/seal/enlace_seal.js`).
const SEAL_NAME: &str = "enlace_seal";

/// The sizes of a built `.wasm`.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub raw: u64,
    pub gzip: u64,
}

/// The package folder, `dist/web/`.
pub fn out_dir(root: &Path) -> PathBuf {
    root.join("dist/web")
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Adds what was being done to the error of a library call or of I/O.
trait Context<T> {
    fn context(self, doing: &str) -> Result<T>;
    fn with_context(self, doing: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, doing: &str) -> Result<T> {
        self.map_err(|e| Error::new(format!("{doing}: {e:#}")))
    }
    fn with_context(self, doing: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::new(format!("{}: {e:#}", doing())))
    }
}

/// `cargo` at the repository root.
fn cargo(root: &Path) -> Command {
    let mut c = crate::cargo();
    c.current_dir(root);
    c
}

/// Builds the browser package into `dist/web/` and checks the size budget;
/// returns the `.wasm` sizes.
pub fn build(root: &Path) -> Result<Sizes> {
    let sizes = build_package(root)?;
    if sizes.gzip > GZIP_BUDGET {
        return Err(Error::new(format!(
            "the browser .wasm is {} gzipped, over the {} budget",
            kb(sizes.gzip),
            kb(GZIP_BUDGET)
        )));
    }
    Ok(sizes)
}

/// Builds the browser package into `dist/web/` and prints its sizes; then
/// the seal package into `dist/web/seal/`.
fn build_package(root: &Path) -> Result<Sizes> {
    let started = Instant::now();
    let out = out_dir(root);
    compile_and_bind(root, "browser", &out, OUT_NAME)?;
    std::fs::write(out.join("package.json"), package_json()).context("writing package.json")?;
    std::fs::copy(root.join("wasm/web/README.md"), out.join("README.md"))
        .context("copying wasm/web/README.md")?;
    build_seal(root)?;
    let sizes = measure(&out.join(format!("{OUT_NAME}_bg.wasm")))?;
    println!(
        "browser package: {} in {:.1} s\n  {OUT_NAME}_bg.wasm: raw {}, gzip {} (budget: gzip <= {})",
        out.display(),
        started.elapsed().as_secs_f64(),
        kb(sizes.raw),
        kb(sizes.gzip),
        kb(GZIP_BUDGET),
    );
    Ok(sizes)
}

/// `cargo build` of enlace-wasm with one browser `feature` (opt-level "z",
/// the size profile), then wasm-bindgen into a fresh `out` folder as
/// `OUT_NAME.js` and `OUT_NAME_bg.wasm`.
fn compile_and_bind(root: &Path, feature: &str, out: &Path, out_name: &str) -> Result<()> {
    setup::ensure_rust_target(setup::WASM_TARGET)?;
    run(cargo(root)
        // Only for the browser: opt-level "z" instead of the profile's "s".
        // Measured on the engine: 8 % smaller gzipped (387 -> 358 KB), about
        // 40 % slower per call in Node (booking 18 -> 26 µs): download size
        // matters more to a page than microseconds per click.
        .env("CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL", "z")
        .args([
            "build",
            "-p",
            "enlace-wasm",
            "--lib",
            "--target",
            setup::WASM_TARGET,
            "--profile",
            PROFILE,
            "--no-default-features",
            "--features",
            feature,
        ]))?;
    // Every face's build writes the same file: copy it out right away.
    let built = target_dir(root)
        .join(setup::WASM_TARGET)
        .join(PROFILE)
        .join("enlace_wasm.wasm");
    let staged_dir = target_dir(root).join(format!("xtask-{feature}"));
    std::fs::create_dir_all(&staged_dir)
        .with_context(|| format!("creating {}", staged_dir.display()))?;
    let staged = staged_dir.join("enlace_wasm.wasm");
    std::fs::copy(&built, &staged).with_context(|| format!("copying {}", built.display()))?;

    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen.input_path(&staged).out_name(out_name);
    // One ES module for browsers (`await init()`) and Node 20
    // (`initSync({module: bytes})`).
    bindgen.web(true).context("wasm-bindgen --target web")?;
    bindgen
        // The library's defaults differ from the CLI's: ask for the .d.ts
        // and keep the default `new URL('…_bg.wasm', import.meta.url)`.
        .typescript(true)
        .omit_default_module_path(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(out)
        .context("wasm-bindgen")
}

/// The seal package, `dist/web/seal/`: signed exchange for pages that show
/// other agencies' records, loaded apart from the engine (whose budget it
/// does not touch); prints its sizes.
pub fn build_seal(root: &Path) -> Result<Sizes> {
    let out = out_dir(root).join("seal");
    compile_and_bind(root, "seal", &out, SEAL_NAME)?;
    let sizes = measure(&out.join(format!("{SEAL_NAME}_bg.wasm")))?;
    println!(
        "seal package: {}\n  {SEAL_NAME}_bg.wasm: raw {}, gzip {}",
        out.display(),
        kb(sizes.raw),
        kb(sizes.gzip)
    );
    Ok(sizes)
}

/// Raw and gzip (best compression) sizes of a file.
pub fn measure(path: &Path) -> Result<Sizes> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes).context("gzip")?;
    let gzip = gz.finish().context("gzip")?.len() as u64;
    Ok(Sizes {
        raw: bytes.len() as u64,
        gzip,
    })
}

/// Bytes as kilobytes (1 KB = 1000 bytes), one decimal.
pub fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn package_json() -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        r#"{{
  "name": "enlace-engine",
  "version": "{version}",
  "description": "The Enlace engine (appointment scheduling, referral and counter-referral, agreements, audit) compiled to WebAssembly for browsers and Node.",
  "license": "Apache-2.0",
  "type": "module",
  "main": "./{OUT_NAME}.js",
  "module": "./{OUT_NAME}.js",
  "types": "./{OUT_NAME}.d.ts",
  "exports": {{
    ".": {{
      "types": "./{OUT_NAME}.d.ts",
      "default": "./{OUT_NAME}.js"
    }},
    "./{OUT_NAME}_bg.wasm": "./{OUT_NAME}_bg.wasm",
    "./seal": {{
      "types": "./seal/{SEAL_NAME}.d.ts",
      "default": "./seal/{SEAL_NAME}.js"
    }},
    "./seal/{SEAL_NAME}_bg.wasm": "./seal/{SEAL_NAME}_bg.wasm"
  }},
  "files": [
    "{OUT_NAME}.js",
    "{OUT_NAME}.d.ts",
    "{OUT_NAME}_bg.wasm",
    "{OUT_NAME}_bg.wasm.d.ts",
    "seal/{SEAL_NAME}.js",
    "seal/{SEAL_NAME}.d.ts",
    "seal/{SEAL_NAME}_bg.wasm",
    "seal/{SEAL_NAME}_bg.wasm.d.ts",
    "README.md"
  ],
  "sideEffects": false,
  "engines": {{
    "node": ">=20"
  }}
}}
"#
    )
}

/// Writes `wasm/ts/enlace.d.ts` from the Rust types, or with `check` fails
/// when the committed file is stale.
pub fn codegen(root: &Path, check: bool) -> Result<()> {
    let mut c = cargo(root);
    c.args([
        "run",
        "--quiet",
        "-p",
        "enlace-wasm",
        "--no-default-features",
        "--features",
        "typescript",
        "--bin",
        "ts-codegen",
    ]);
    if check {
        c.args(["--", "--check"]);
    }
    run(&mut c)
}

/// The browser steps of `cargo xtask test`, in order: build the package,
/// check the committed TypeScript types, play the scenario corpus on the
/// package in Node, and type-check the TypeScript usage example.
pub fn test_steps(root: &Path) -> Vec<Step> {
    let r = root.to_path_buf();
    let build_step = Step::new(
        "browser: build dist/web (wasm-bindgen, size budget)",
        move || build(&r).map(drop),
    );
    let types = Step::cargo(
        "browser: committed TypeScript types match the Rust types",
        root,
        &[
            "test",
            "-p",
            "enlace-wasm",
            "--no-default-features",
            "--features",
            "typescript",
        ],
    );
    let expand = Step::cargo(
        "scenario corpus: expand to dist/scenarios.json",
        root,
        &[
            "run",
            "--quiet",
            "-p",
            "enlace-tests",
            "--bin",
            "expand_scenarios",
        ],
    );
    let r = root.to_path_buf();
    let scenarios = Step::new("browser: scenario corpus in Node", move || {
        setup::ensure_node()?;
        run(Command::new("node")
            .current_dir(&r)
            .arg("tests/node/run-scenarios.mjs"))
    });
    let r = root.to_path_buf();
    let tsc = Step::new(
        "browser: tsc --noEmit on the TypeScript usage example",
        move || {
            setup::ensure_node()?;
            let dir = r.join("tests/node");
            setup::ensure_npm_ci(&dir)?;
            run(Command::new("node").current_dir(&dir).args([
                "node_modules/typescript/bin/tsc",
                "--noEmit",
                "-p",
                ".",
            ]))
        },
    );
    let r = root.to_path_buf();
    let exchange = Step::new(
        "browser: seal package and independent JOSE/JCS libraries on the exchange vectors",
        move || {
            setup::ensure_node()?;
            setup::ensure_npm_ci(&r.join("tests/node"))?;
            run(Command::new("node")
                .current_dir(&r)
                .arg("tests/node/run-exchange.mjs"))
        },
    );
    vec![build_step, types, expand, scenarios, tsc, exchange]
}

/// Booking and free-slot search natively and through the browser package
/// in Node, in one run: a release binary writes the workload and measures
/// it natively, then the Node bench replays the same workload through the
/// package (built first) and prints both figures and their ratio.
pub fn bench(root: &Path) -> Result<()> {
    // Measured even when over the size budget: `build` reports that.
    build_package(root)?;
    setup::ensure_node()?;
    let workload = root.join("dist/bench-web.json");
    run(cargo(root)
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "enlace-tests",
            "--bin",
            "web_bench",
            "--",
        ])
        .arg(&workload))?;
    run(Command::new("node")
        .current_dir(root)
        .arg("tests/node/bench.mjs")
        .arg(&workload))
}
