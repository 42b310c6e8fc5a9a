//! `cargo xtask setup`: installs what the project needs, idempotently.
//!
//! It must work on a fresh Debian machine that has only the Rust toolchain,
//! as root with no standard input (CI), and cost nothing when everything is
//! already there, so every installer first checks and skips:
//!
//! - Rust targets through `rustup target add`;
//! - Debian packages through `apt-get`, only for tools missing from `PATH`;
//! - npm packages through `npm ci`, when `node_modules` is missing or older
//!   than `package-lock.json`;
//! - PyPI packages in one venv at `.venv/`, when a requirements file changed
//!   since it was last installed.
//!
//! What each optional part ([`Extra`]) needs is listed in [`setup`].

use crate::{Error, Extra, Result};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The target of the browser package and the component (built in a later step).
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// A command-line tool and the Debian package that provides it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub command: &'static str,
    pub package: &'static str,
}

/// Installs what the workspace and the requested optional parts need.
pub fn setup(root: &Path, extras: &[Extra]) -> Result<()> {
    ensure_rust_target(WASM_TARGET)?;
    // The host's sign-in tests (host/tests/oidc.rs) run a real OpenID
    // Connect provider in Node: panva's oidc-provider.
    ensure_node()?;
    ensure_npm_ci(&root.join("tests/oidc"))?;
    for extra in extras {
        match extra {
            Extra::Interop => {
                ensure_tools(&[Tool {
                    command: "python3",
                    package: "python3",
                }])?;
                ensure_node()?;
                let dir = root.join("tests/interop");
                ensure_venv(root, "interop", &dir.join("requirements.txt"))?;
                ensure_npm_ci(&dir)?;
            }
        }
    }
    Ok(())
}

/// Runs a command with the log as its output and no standard input; an
/// exit other than success is an error that names the command.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    println!("$ {shown}");
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .map_err(|e| Error::new(format!("cannot start `{shown}`: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!("`{shown}` exited with {status}")))
    }
}

/// Runs a command and returns its standard output, or `None` when it cannot
/// start or fails (for probes such as `rustc --print sysroot`).
fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Adds a Rust target to the active toolchain unless its standard library
/// is already in the sysroot.
pub fn ensure_rust_target(target: &str) -> Result<()> {
    let installed =
        output(Command::new("rustc").args(["--print", "sysroot"])).is_some_and(|sysroot| {
            Path::new(&sysroot)
                .join("lib/rustlib")
                .join(target)
                .join("lib")
                .is_dir()
        });
    if installed {
        println!("setup: Rust target {target}: installed");
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", target]))
}

/// Installs, with apt-get, the packages of the tools missing from `PATH`.
pub fn ensure_tools(tools: &[Tool]) -> Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut missing: Vec<&str> = Vec::new();
    for t in tools {
        if find_on_path(t.command, &path).is_some() {
            println!("setup: {}: found", t.command);
        } else if !missing.contains(&t.package) {
            missing.push(t.package);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

/// Installs Node.js and npm from Debian when missing (the Node test runners,
/// tsc, jco, playwright-core).
pub fn ensure_node() -> Result<()> {
    ensure_tools(&[
        Tool {
            command: "node",
            package: "nodejs",
        },
        Tool {
            command: "npm",
            package: "npm",
        },
    ])
}

/// `apt-get update && apt-get install -y PACKAGES`, non-interactively. Needs
/// root (CI runs as root); otherwise says what to install by hand.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let root = output(Command::new("id").arg("-u")).as_deref() == Some("0");
    if !root || find_on_path("apt-get", &path).is_none() {
        return Err(Error::new(format!(
            "missing {0}; install it (on Debian: sudo apt-get install -y {0}) and run again",
            packages.join(" ")
        )));
    }
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q"])
        .args(packages))
}

/// Makes the venv at `ROOT/.venv` and installs `requirements` in it when
/// they changed since the last install (a copy is kept as `.NAME-requirements`
/// in the venv). Debian ships `venv` apart from Python: installed on demand.
pub fn ensure_venv(root: &Path, name: &str, requirements: &Path) -> Result<()> {
    ensure_venv_at(&root.join(".venv"), name, requirements)
}

/// [`ensure_venv`] for a venv elsewhere (a tool whose dependencies must not
/// meet the validators' pins, e.g. the API tester in `target/api-venv`).
pub fn ensure_venv_at(venv: &Path, name: &str, requirements: &Path) -> Result<()> {
    let python = venv.join("bin/python");
    if !python.exists() {
        // A half-made venv (no interpreter) is of no use: start again.
        remove_dir(venv)?;
        let make = || run(Command::new("python3").arg("-m").arg("venv").arg(venv));
        if make().is_err() {
            remove_dir(venv)?;
            apt_install(&["python3-venv"])?;
            make()?;
        }
    }
    let stamp = venv.join(format!(".{name}-requirements"));
    if stamp_is_current(&stamp, requirements) {
        println!("setup: venv {}: up to date", requirements.display());
        return Ok(());
    }
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet"])
        .args(["--disable-pip-version-check", "--no-input", "-r"])
        .arg(requirements))?;
    std::fs::copy(requirements, &stamp)
        .map(drop)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", stamp.display())))
}

/// `npm ci` in `dir` when its `node_modules` is missing or older than its
/// `package-lock.json`.
pub fn ensure_npm_ci(dir: &Path) -> Result<()> {
    if !npm_ci_needed(dir) {
        println!("setup: {}/node_modules: up to date", dir.display());
        return Ok(());
    }
    run(Command::new("npm").current_dir(dir).args([
        "ci",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::new(format!("cannot remove {}: {e}", dir.display())))
        }
        _ => Ok(()),
    }
}

/// The first executable file called `name` in the directories of `path`.
pub fn find_on_path(name: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|file| is_executable(file))
}

#[cfg(unix)]
fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(file: &Path) -> bool {
    file.is_file()
}

/// True when `npm ci` must run in `dir`. npm writes
/// `node_modules/.package-lock.json` on every install, so its time is the
/// install's; a folder without it counts as not installed.
pub fn npm_ci_needed(dir: &Path) -> bool {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(dir.join("package-lock.json")),
        modified(dir.join("node_modules/.package-lock.json")),
    ) {
        (Some(lock), Some(installed)) => lock > installed,
        _ => true,
    }
}

/// True when `stamp` holds exactly the content of `requirements`.
pub fn stamp_is_current(stamp: &Path, requirements: &Path) -> bool {
    match (std::fs::read(stamp), std::fs::read(requirements)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `PATH` with one more directory in front, for tests.
#[cfg(test)]
fn path_with(dir: &Path, rest: &OsStr) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(rest));
    std::env::join_paths(dirs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::{Duration, SystemTime};

    /// A fresh scratch folder under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn touch(file: &Path, when: SystemTime) {
        fs::write(file, b"{}").unwrap();
        fs::File::options()
            .write(true)
            .open(file)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    #[test]
    fn finds_only_executable_files_on_the_path() {
        let dir = scratch("path");
        fs::write(dir.join("plain"), b"").unwrap();
        fs::create_dir(dir.join("folder")).unwrap();
        let tool = dir.join("tool");
        fs::write(&tool, b"#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = path_with(&dir, OsStr::new("/nonexistent-xtask-dir"));
        assert_eq!(find_on_path("tool", &path), Some(tool));
        assert_eq!(find_on_path("folder", &path), None);
        assert_eq!(find_on_path("absent", &path), None);
        #[cfg(unix)]
        assert_eq!(find_on_path("plain", &path), None);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn npm_ci_runs_when_modules_are_missing_or_older_than_the_lock() {
        let dir = scratch("npm");
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = t0 + Duration::from_secs(60);
        touch(&dir.join("package-lock.json"), t0);
        assert!(npm_ci_needed(&dir), "no node_modules");
        fs::create_dir(dir.join("node_modules")).unwrap();
        assert!(npm_ci_needed(&dir), "node_modules without npm's lock copy");
        touch(&dir.join("node_modules/.package-lock.json"), later);
        assert!(!npm_ci_needed(&dir), "installed after the lock changed");
        touch(
            &dir.join("package-lock.json"),
            later + Duration::from_secs(60),
        );
        assert!(npm_ci_needed(&dir), "lock changed after the install");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn pip_installs_again_only_when_the_requirements_change() {
        let dir = scratch("venv");
        let req = dir.join("requirements.txt");
        let stamp = dir.join(".interop-requirements");
        fs::write(&req, "vobject==0.9.9\n").unwrap();
        assert!(!stamp_is_current(&stamp, &req), "never installed");
        fs::copy(&req, &stamp).unwrap();
        assert!(stamp_is_current(&stamp, &req));
        fs::write(&req, "vobject==0.9.9\nicalendar==7.3.0\n").unwrap();
        assert!(!stamp_is_current(&stamp, &req), "requirements changed");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failing_command_is_an_error_that_names_it() {
        let e = run(Command::new("sh").args(["-c", "exit 3"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`sh -c exit 3` exited with"), "{e}");
        assert!(e.contains('3'), "{e}");
        run(Command::new("sh").args(["-c", "exit 0"])).unwrap();
        let e = run(&mut Command::new("/nonexistent-xtask-program"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot start"), "{e}");
    }

    #[test]
    fn the_host_target_counts_as_installed() {
        // The target rustc runs on always has its standard library in the
        // sysroot, so this exercises the probe without installing anything.
        let host = output(Command::new("rustc").arg("-vV"))
            .and_then(|v| {
                v.lines()
                    .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
            })
            .unwrap();
        ensure_rust_target(&host).unwrap();
    }
}
