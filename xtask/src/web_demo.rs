//! The web demo (`web-demo/`): plain HTML, CSS and ES modules with the
//! browser package copied into `web-demo/engine/`, and its tests in a real
//! headless Chromium (`tests/browser/`).
//!
//! - [`build`]: builds the browser package (`dist/web/`) and copies it into
//!   `web-demo/engine/`, so the page works served from any static server,
//!   including the host (`web_root`).
//! - [`test_steps`]: the web-demo steps of `cargo xtask test`: build the
//!   package and the host, install Chromium (Debian) and the npm packages
//!   (`playwright-core`, `axe-core`), then run `tests/browser/run.mjs`.

use crate::setup::{self, run};
use crate::{Error, Result, Step};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Debian Chromium the tests drive (never a downloaded browser).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Where the page loads the engine from.
pub fn engine_dir(root: &Path) -> PathBuf {
    root.join("web-demo/engine")
}

/// Builds the browser package and copies it into `web-demo/engine/`.
pub fn build(root: &Path) -> Result<()> {
    crate::browser::build(root)?;
    copy_engine(root)
}

/// Copies every file of `dist/web/` into a fresh `web-demo/engine/`.
pub fn copy_engine(root: &Path) -> Result<()> {
    let from = crate::browser::out_dir(root);
    let to = engine_dir(root);
    let io = |doing: String| move |e: std::io::Error| Error::new(format!("{doing}: {e}"));
    if to.exists() {
        std::fs::remove_dir_all(&to).map_err(io(format!("clearing {}", to.display())))?;
    }
    std::fs::create_dir_all(&to).map_err(io(format!("creating {}", to.display())))?;
    let entries = std::fs::read_dir(&from)
        .map_err(io(format!("reading {} (build it first)", from.display())))?;
    let mut copied = 0;
    for entry in entries {
        let entry = entry.map_err(io(format!("reading {}", from.display())))?;
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .map_err(io(format!("copying {}", entry.path().display())))?;
            copied += 1;
        }
    }
    println!(
        "web demo: copied {copied} files of {} into {}",
        from.display(),
        to.display()
    );
    Ok(())
}

/// Installs Node, npm and Debian's Chromium when missing.
fn ensure_browser_tools() -> Result<()> {
    setup::ensure_node()?;
    if Path::new(CHROMIUM).exists() {
        println!("setup: {CHROMIUM}: found");
        Ok(())
    } else {
        setup::apt_install(&["chromium"])
    }
}

/// The web-demo steps of `cargo xtask test`, in order.
pub fn test_steps(root: &Path) -> Vec<Step> {
    let r = root.to_path_buf();
    let build_step = Step::new(
        "web demo: browser package into web-demo/engine/",
        move || build(&r),
    );
    // The very build of the workspace tests (same arguments, so the same
    // features and no rebuild after them): it leaves target/debug/enlace-host,
    // which the host's integration tests run too. A plain `cargo build -p
    // enlace-host` resolves other features and rebuilds wasmtime (5 min).
    let host = Step::cargo(
        "web demo: build enlace-host (connected mode)",
        root,
        &[
            "test",
            "--workspace",
            "--lib",
            "--bins",
            "--tests",
            "--no-run",
        ],
    );
    let r = root.to_path_buf();
    let browser = Step::new(
        "web demo: the page in headless Chromium (standalone, connected, offline)",
        move || run_browser_tests(&r),
    );
    vec![build_step, host, browser]
}

/// Installs what the browser tests need and runs them; expects the engine
/// copied and the host built (see [`test_steps`]).
pub fn run_browser_tests(root: &Path) -> Result<()> {
    ensure_browser_tools()?;
    let dir = root.join("tests/browser");
    setup::ensure_npm_ci(&dir)?;
    run(Command::new("node")
        .current_dir(&dir)
        .env("ENLACE_ROOT", root)
        .args(["--test", "--test-concurrency=1", "run.mjs"]))
}
