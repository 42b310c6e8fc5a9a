//! Build and test automation for Enlace: `cargo xtask <task>`.
//!
//! ```text
//! cargo xtask run [ARGS…]         the main job: the server with its SQLite journal and a seeded demo network
//! cargo xtask test               setup, then every test (third-party validators included)
//! cargo xtask setup [--with LIST] installs what the project needs (idempotent)
//! cargo xtask build               builds the Wasm artifacts (dist/enlace.component.wasm, dist/web/), prints sizes
//! cargo xtask codegen [--check]   writes (checks) the generated wasm/ts/enlace.d.ts
//! cargo xtask bench-web           booking and free-slot search: native vs browser package
//! cargo xtask test-web            the web demo's tests in headless Chromium
//! cargo xtask test-api            /openapi.json against the real server (schemathesis)
//! ```
//!
//! `--with` names optional parts, comma-separated (see [`Extra`]). The task
//! runner is plain `std`, so `cargo xtask` builds in seconds on a fresh
//! machine; it only starts other programs (cargo, rustup, apt-get, npm, pip).

mod api_fuzz;
mod browser;
mod component;
mod setup;
mod web_demo;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// The failure of a task, with a message meant for the person reading the log.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error(message.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  run [ARGS…]          the main job: the server (`enlace-host serve --listen
                       127.0.0.1:8080 --data ./data --seed ARGS…`), seeded with the
                       demo network; prints the URL and the demo tokens
  test                 setup, then every test, the third-party FHIR and iCalendar
                       validators and the browser tests included
  setup [--with LIST]  install what the project needs; skips what is installed
  build                build the Wasm artifacts: the component dist/enlace.component.wasm
                       and the browser package in dist/web/
                       (raw and gzip sizes, fails over budget)
  codegen [--check]    write wasm/ts/enlace.d.ts from the Rust types (--check: fail
                       when the committed file is stale)
  bench-web            booking and free-slot search natively and through the
                       browser package in Node, one run, with the ratio
  test-web             only the web demo's tests in headless Chromium (builds
                       the browser package and the host first)
  test-api             only the API check: schemathesis sends what /openapi.json
                       allows (and forbids) to a fresh seeded server, every
                       check on; fails on any disagreement

--with takes optional parts, comma-separated:
";

/// Optional parts a task can include with `--with`. Each names what it
/// installs in `setup` and what it adds to `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    /// FHIR R4 and iCalendar output checked by third-party validators
    /// (`tests/interop/validate.sh`): a Python venv and npm packages.
    Interop,
}

impl Extra {
    pub const ALL: [Extra; 1] = [Extra::Interop];

    pub fn name(self) -> &'static str {
        match self {
            Extra::Interop => "interop",
        }
    }

    fn about(self) -> &'static str {
        match self {
            Extra::Interop => {
                "FHIR/iCalendar validation by third-party validators \
                 (python3 venv + npm packages; tests/interop/validate.sh)"
            }
        }
    }
}

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    Run(Vec<String>),
    Test(Vec<Extra>),
    Setup(Vec<Extra>),
    Build,
    Codegen { check: bool },
    BenchWeb,
    TestWeb,
    TestApi,
    Help,
}

fn parse(args: &[String]) -> Result<Task> {
    let Some((task, rest)) = args.split_first() else {
        return Ok(Task::Help);
    };
    match task.as_str() {
        "run" => Ok(Task::Run(rest.to_vec())),
        // Every part: what CI runs is what a newcomer runs.
        "test" if rest.is_empty() => Ok(Task::Test(Extra::ALL.to_vec())),
        "test" => Err(Error::new(format!(
            "`cargo xtask test` takes no options: it runs every test\n\n{}",
            usage()
        ))),
        "setup" => parse_with(rest).map(Task::Setup),
        "build" if rest.is_empty() => Ok(Task::Build),
        "codegen" => match rest {
            [] => Ok(Task::Codegen { check: false }),
            [flag] if flag == "--check" => Ok(Task::Codegen { check: true }),
            _ => Err(Error::new(format!(
                "usage: cargo xtask codegen [--check]\n\n{}",
                usage()
            ))),
        },
        "bench-web" if rest.is_empty() => Ok(Task::BenchWeb),
        "test-web" if rest.is_empty() => Ok(Task::TestWeb),
        "test-api" if rest.is_empty() => Ok(Task::TestApi),
        "help" | "-h" | "--help" => Ok(Task::Help),
        other => Err(Error::new(format!("unknown task `{other}`\n\n{}", usage()))),
    }
}

/// Parses `--with a,b`, `--with=a,b` (repeatable) into a list without duplicates.
fn parse_with(args: &[String]) -> Result<Vec<Extra>> {
    let mut extras = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let list = if arg == "--with" {
            it.next()
                .ok_or_else(|| Error::new("--with needs a list, e.g. --with interop"))?
                .as_str()
        } else if let Some(list) = arg.strip_prefix("--with=") {
            list
        } else {
            return Err(Error::new(format!(
                "unexpected argument `{arg}`\n\n{}",
                usage()
            )));
        };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let extra = Extra::ALL
                .into_iter()
                .find(|e| e.name() == name)
                .ok_or_else(|| {
                    let known: Vec<_> = Extra::ALL.iter().map(|e| e.name()).collect();
                    Error::new(format!(
                        "unknown part `{name}` for --with (known: {})",
                        known.join(", ")
                    ))
                })?;
            if !extras.contains(&extra) {
                extras.push(extra);
            }
        }
    }
    Ok(extras)
}

fn usage() -> String {
    let mut s = USAGE.to_owned();
    for e in Extra::ALL {
        s.push_str(&format!("  {:<19}{}\n", e.name(), e.about()));
    }
    s
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse(&args).and_then(|task| {
        let root = workspace_root();
        match task {
            Task::Run(args) => run_demo(&root, &args),
            Task::Test(extras) => run_steps("test", &test_steps(&root, &extras)),
            Task::Setup(extras) => setup::setup(&root, &extras),
            Task::Build => component::build(&root).and_then(|()| browser::build(&root).map(drop)),
            Task::Codegen { check } => browser::codegen(&root, check),
            Task::BenchWeb => browser::bench(&root),
            Task::TestWeb => run_steps("test-web", &web_demo::test_steps(&root)),
            Task::TestApi => run_steps("test-api", &api_fuzz::test_steps(&root)),
            Task::Help => {
                print!("{}", usage());
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The cargo that started us (`cargo xtask` sets `CARGO`), so the same
/// toolchain builds everything.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `cargo xtask run`: the main job. Builds the engine component (the
/// server runs it in wasmtime) and the browser package the web demo loads
/// (copied into `web-demo/engine/`), then starts `enlace-host serve` on
/// 127.0.0.1:8080 with its SQLite data under `./data`, seeded with the demo
/// network on first run; it prints the URL and the demo tokens and serves
/// the web demo at `/`. Extra ARGS go to `serve`.
fn run_demo(root: &Path, args: &[String]) -> Result<()> {
    component::build(root)?;
    web_demo::build(root)?;
    let mut cmd = cargo();
    cmd.current_dir(root)
        .args(["run", "--package", "enlace-host", "--", "serve"])
        .args(serve_args(args));
    setup::run(&mut cmd)
}

/// The arguments of `serve` for `cargo xtask run ARGS`: the defaults
/// (loopback port 8080, `./data`, seeded), each unless ARGS give their own
/// (`--listen 0.0.0.0:9000`, `--data /srv/enlace`), then ARGS; a leading
/// `--` is dropped.
fn serve_args(args: &[String]) -> Vec<String> {
    let args = match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    };
    let given = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let mut out: Vec<String> = Vec::new();
    for (flag, value) in [("--listen", "127.0.0.1:8080"), ("--data", "./data")] {
        if !given(flag) {
            out.extend([flag.to_owned(), value.to_owned()]);
        }
    }
    if !given("--seed") {
        out.push("--seed".to_owned());
    }
    out.extend(args.iter().cloned());
    out
}

/// One step of a task: a title for the log and the work.
pub struct Step {
    title: String,
    action: Box<dyn Fn() -> Result<()>>,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step").field("title", &self.title).finish()
    }
}

impl Step {
    fn new(title: &str, action: impl Fn() -> Result<()> + 'static) -> Self {
        Step {
            title: title.to_owned(),
            action: Box::new(action),
        }
    }

    /// A step that runs `cargo ARGS` at the repository root.
    fn cargo(title: &str, root: &Path, args: &[&str]) -> Self {
        let root = root.to_path_buf();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        Step::new(title, move || {
            let mut cmd = cargo();
            cmd.current_dir(&root).args(&args);
            setup::run(&mut cmd)
        })
    }
}

/// The steps of `cargo xtask test`, in order. Later parts of the project add
/// theirs here (Wasm builds, Node, the browser).
fn test_steps(root: &Path, extras: &[Extra]) -> Vec<Step> {
    let mut steps = Vec::new();
    {
        let (root, extras) = (root.to_path_buf(), extras.to_vec());
        steps.push(Step::new("setup", move || setup::setup(&root, &extras)));
    }
    // `cargo test` also builds the examples (it does not run them); a plain
    // build keeps that check without compiling them as test harnesses.
    steps.push(Step::cargo(
        "build the examples",
        root,
        &["build", "--workspace", "--examples"],
    ));
    // The wasmtime face of the scenario corpus (tests/tests/component.rs)
    // runs with the workspace tests and needs the component built first.
    {
        let root = root.to_path_buf();
        steps.push(Step::new(
            "component: build dist/enlace.component.wasm",
            move || component::build(&root),
        ));
    }
    steps.push(Step::cargo(
        "unit and integration tests",
        root,
        &["test", "--workspace", "--lib", "--bins", "--tests"],
    ));
    for &extra in extras {
        match extra {
            Extra::Interop => {
                let script = root.join("tests/interop/validate.sh");
                let root = root.to_path_buf();
                steps.push(Step::new(
                    "interop: FHIR R4 and iCalendar validators",
                    move || {
                        let mut cmd = Command::new("bash");
                        cmd.current_dir(&root).arg(&script);
                        setup::run(&mut cmd)
                    },
                ));
            }
        }
    }
    // The unit and integration tests built target/debug/enlace-host and the
    // component: the OpenAPI document against that server.
    steps.push(api_fuzz::run_step(root));
    steps.extend(browser::test_steps(root));
    steps.extend(component::test_steps(root));
    steps.extend(web_demo::test_steps(root));
    // Last, so that a green log ends with cargo test's own summary lines.
    steps.push(Step::cargo(
        "doc tests",
        root,
        &["test", "--workspace", "--doc"],
    ));
    steps
}

/// Runs steps in order, each under a header; stops at the first failure.
///
/// A step's time is printed in the next step's header, and nothing follows
/// the last step, so a successful log ends with that step's own output.
fn run_steps(task: &str, steps: &[Step]) -> Result<()> {
    let started = Instant::now();
    let mut previous: Option<(&str, Duration)> = None;
    for (i, step) in steps.iter().enumerate() {
        let done = match previous {
            Some((title, took)) => format!(
                "; `{title}` passed in {}, {} so far",
                secs(took),
                secs(started.elapsed())
            ),
            None => String::new(),
        };
        println!(
            "\n==> xtask {task} [{}/{}] {}{done}",
            i + 1,
            steps.len(),
            step.title
        );
        let step_started = Instant::now();
        if let Err(e) = (step.action)() {
            return Err(Error::new(format!(
                "{task} step {}/{} `{}` failed after {} ({} in all): {e}",
                i + 1,
                steps.len(),
                step.title,
                secs(step_started.elapsed()),
                secs(started.elapsed()),
            )));
        }
        previous = Some((&step.title, step_started.elapsed()));
    }
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_tasks_and_with_lists() {
        assert_eq!(parse(&args("")).unwrap(), Task::Help);
        assert_eq!(
            parse(&args("test")).unwrap(),
            Task::Test(Extra::ALL.to_vec())
        );
        assert_eq!(
            parse(&args("setup --with interop")).unwrap(),
            Task::Setup(vec![Extra::Interop])
        );
        assert_eq!(
            parse(&args("setup --with=interop,interop")).unwrap(),
            Task::Setup(vec![Extra::Interop])
        );
        assert_eq!(
            parse(&args("run --seed 3")).unwrap(),
            Task::Run(args("--seed 3"))
        );
    }

    #[test]
    fn refuses_unknown_tasks_parts_and_arguments() {
        let e = parse(&args("tset")).unwrap_err().to_string();
        assert!(e.contains("unknown task `tset`"), "{e}");
        let e = parse(&args("test --with interop")).unwrap_err().to_string();
        assert!(e.contains("takes no options"), "{e}");
        let e = parse(&args("setup --with chromium"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown part `chromium`"), "{e}");
        assert!(e.contains("interop"), "{e}");
        let e = parse(&args("setup --with")).unwrap_err().to_string();
        assert!(e.contains("needs a list"), "{e}");
        let e = parse(&args("setup --fast")).unwrap_err().to_string();
        assert!(e.contains("unexpected argument `--fast`"), "{e}");
    }

    #[test]
    fn test_runs_setup_first_and_doc_tests_last() {
        let root = workspace_root();
        let titles = |extras: &[Extra]| -> Vec<String> {
            test_steps(&root, extras)
                .into_iter()
                .map(|s| s.title)
                .collect()
        };
        let plain = titles(&[]);
        assert_eq!(plain.first().map(String::as_str), Some("setup"));
        assert_eq!(plain.last().map(String::as_str), Some("doc tests"));
        assert!(plain.iter().all(|t| !t.starts_with("interop")));
        let with = titles(&[Extra::Interop]);
        assert_eq!(with.len(), plain.len() + 1);
        assert!(with.iter().any(|t| t.starts_with("interop")));
        assert_eq!(with.last().map(String::as_str), Some("doc tests"));
    }

    #[test]
    fn steps_stop_at_the_first_failure_and_name_it() {
        let ran = Rc::new(RefCell::new(Vec::new()));
        let step = |title: &'static str, ok: bool| {
            let ran = Rc::clone(&ran);
            Step::new(title, move || {
                ran.borrow_mut().push(title);
                if ok { Ok(()) } else { Err(Error::new("boom")) }
            })
        };
        let steps = [step("one", true), step("two", false), step("three", true)];
        let e = run_steps("test", &steps).unwrap_err().to_string();
        assert_eq!(*ran.borrow(), ["one", "two"]);
        assert!(e.contains("step 2/3 `two` failed"), "{e}");
        assert!(e.ends_with("boom"), "{e}");
        ran.borrow_mut().clear();
        run_steps("test", &steps[..1]).unwrap();
        assert_eq!(*ran.borrow(), ["one"]);
    }

    #[test]
    fn run_passes_defaults_unless_overridden() {
        assert_eq!(
            serve_args(&[]),
            args("--listen 127.0.0.1:8080 --data ./data --seed")
        );
        assert_eq!(
            serve_args(&args("-- --listen 0.0.0.0:9000 --log debug")),
            args("--data ./data --seed --listen 0.0.0.0:9000 --log debug")
        );
        assert_eq!(
            serve_args(&args("--data=/srv/enlace")),
            args("--listen 127.0.0.1:8080 --seed --data=/srv/enlace")
        );
    }

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }
}
