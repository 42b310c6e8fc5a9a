//! The OpenAPI document against the real server: schemathesis (PyPI, pinned
//! in `tests/api/requirements.txt`, in a venv at `target/api-venv`) reads
//! `/openapi.json` of a fresh `enlace-host serve --seed` on 127.0.0.1 and
//! sends what the document allows, and what it forbids, with the admin
//! token and every check on (`--checks all`): a server error, a status or a
//! body the document does not list, a request the document allows but the
//! server refuses as malformed, or one it forbids but the server takes, is a
//! failure, and fails the step.
//!
//! `cargo xtask test-api` runs it alone; `cargo xtask test` runs it after the
//! workspace tests (which leave `target/debug/enlace-host` built).

use crate::setup::{self, run};
use crate::{Error, Result, Step};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Test cases per operation and phase: enough to reach every field's
/// bounds, few enough for a few minutes on two cores.
pub const MAX_EXAMPLES: u32 = 25;
/// Hypothesis seed, so that a failure found in CI is found again locally.
pub const SEED: u32 = 20_260_301;

/// The venv of the API tester.
pub fn venv(root: &Path) -> PathBuf {
    root.join("target/api-venv")
}

/// The steps of `cargo xtask test-api`: the component and the host (built
/// as the workspace tests build them, so no rebuild follows), then the run.
pub fn test_steps(root: &Path) -> Vec<Step> {
    let r = root.to_path_buf();
    let component = Step::new("api: build dist/enlace.component.wasm", move || {
        crate::component::build(&r)
    });
    let host = Step::cargo(
        "api: build enlace-host",
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
    vec![component, host, run_step(root)]
}

/// The schemathesis run, for `cargo xtask test` (which has built the host).
pub fn run_step(root: &Path) -> Step {
    let r = root.to_path_buf();
    Step::new(
        "api: /openapi.json against the server (schemathesis, every check)",
        move || fuzz(&r),
    )
}

/// A server started for the run; killed when dropped, whatever happened.
struct Server {
    child: Child,
    data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// Installs the tester, starts the server, runs schemathesis, stops it.
pub fn fuzz(root: &Path) -> Result<()> {
    setup::ensure_tools(&[setup::Tool {
        command: "python3",
        package: "python3",
    }])?;
    let venv = venv(root);
    let requirements = root.join("tests/api/requirements.txt");
    setup::ensure_venv_at(&venv, "api", &requirements)?;
    let work = root.join("target/api-fuzz");
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    let port = free_port()?;
    let server = start(root, &work, port)?;
    let token = admin_token(&server.data)?;
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(venv.join("bin/schemathesis"));
    cmd.current_dir(&work)
        .env("NO_COLOR", "1")
        // `Authorization: Bearer ${ENLACE_API_TOKEN}` in the config file.
        .env("ENLACE_API_TOKEN", &token)
        .arg("--config-file")
        .arg(root.join("tests/api/schemathesis.toml"))
        .args(["run", &format!("{base}/openapi.json")])
        .args(["--checks", "all"])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--seed", &SEED.to_string()])
        .args(["--generation-database", "none"])
        // One worker: CPython 3.11 before 3.11.8 fails `ast.parse` run from two
        // threads at once (gh-106905), which hypothesis does to describe filters.
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--report", "junit"])
        .arg("--report-dir")
        .arg(work.join("report"));
    let result = run(&mut cmd);
    drop(server);
    result.map_err(|e| {
        Error::new(format!(
            "{e}: schemathesis found requests where /openapi.json and the server disagree (report: {})",
            work.join("report").display()
        ))
    })
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::new(format!("{}: {e}", path.display()))
}

/// A port nobody listens on now.
fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::new(format!("no free port on 127.0.0.1: {e}")))
}

/// `enlace-host serve --seed` on 127.0.0.1:PORT with a fresh data folder;
/// returns once `/healthz` answers 200.
fn start(root: &Path, work: &Path, port: u16) -> Result<Server> {
    let bin = root.join("target/debug/enlace-host");
    if !bin.is_file() {
        return Err(Error::new(format!(
            "{} is missing: cargo test --workspace --no-run builds it",
            bin.display()
        )));
    }
    let data = work.join(format!("data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let log_path = work.join("server.log");
    let log = std::fs::File::create(&log_path).map_err(io(&log_path))?;
    let err = log.try_clone().map_err(io(&log_path))?;
    let listen = format!("127.0.0.1:{port}");
    println!("api: {} serve --listen {listen} --seed", bin.display());
    let child = Command::new(&bin)
        .current_dir(root)
        .args(["serve", "--listen", &listen, "--seed", "--data"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| Error::new(format!("cannot start {}: {e}", bin.display())))?;
    let mut server = Server { child, data };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(Error::new(format!(
                "enlace-host exited with {status}:\n{log}"
            )));
        }
        if healthy(port) {
            return Ok(server);
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(Error::new(format!(
                "enlace-host did not answer on {listen} in 120 s:\n{log}"
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// True when `GET /healthz` answers 200.
fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// The admin's token from the demo tokens `serve --seed` wrote.
fn admin_token(data: &Path) -> Result<String> {
    let path = data.join("demo-tokens.txt");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    token_of(&text, "admin")
        .ok_or_else(|| Error::new(format!("no admin token in {}", path.display())))
}

/// The token of `label` in a demo tokens file (`label<TAB>token` lines).
fn token_of(text: &str, label: &str) -> Option<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .find(|(l, _)| *l == label)
        .map(|(_, t)| t.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_admin_token() {
        let text = "# Demo tokens\nclinic-clerk\tenl_a\nadmin\tenl_b\n";
        assert_eq!(token_of(text, "admin").as_deref(), Some("enl_b"));
        assert_eq!(token_of(text, "auditor"), None);
    }

    #[test]
    fn the_pins_are_exact() {
        let root = crate::workspace_root();
        let req = std::fs::read_to_string(root.join("tests/api/requirements.txt")).unwrap();
        let pins: Vec<&str> = req
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(
            pins.iter().any(|l| l.starts_with("schemathesis==")),
            "{req}"
        );
        assert!(pins.iter().all(|l| l.contains("==")), "{req}");
    }
}
