//! Architecture invariants of enlace-core, checked mechanically (see
//! ARCHITECTURE.md, "Architecture invariants").
//!
//! - core depends on no binding, Wasm runtime, HTTP, SQL, async or
//!   randomness crate: not in `core/Cargo.toml`, and not transitively, for
//!   the host target and for wasm32-unknown-unknown;
//! - core's source does no I/O, reads no clock, no environment and no
//!   random source;
//! - core's modules import each other in no cycle;
//! - no product source file (core, wasm, host) is over 800 lines, and no
//!   function of core over 120 (issue 14);
//! - the faces (wasm, host) build none of core's rule refusals by hand and
//!   hold no date bound of their own: core decides, they convert;
//! - ARCHITECTURE.md's code map names every module of core.
//!
//! The source checks read code with comments and string literals removed,
//! so prose about clocks and URLs in strings do not trip them. Each check
//! has a self-test on a small synthetic input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates core must never depend on, directly or not.
const FORBIDDEN_CRATES: &[&str] = &[
    // bindings and Wasm runtimes: they belong to wasm/ and host/
    "wasm-bindgen",
    "js-sys",
    "web-sys",
    "serde-wasm-bindgen",
    "wit-bindgen",
    "wasmtime",
    "wasmtime-wasi",
    // persistence and network: the host's
    "rusqlite",
    "sqlx",
    "axum",
    "tokio",
    "hyper",
    "reqwest",
    // randomness: ids and data are derived deterministically
    "rand",
    "getrandom",
];

/// Paths and names whose use in core's code means I/O, a clock, the
/// environment or randomness; each with why.
const FORBIDDEN_CODE: &[(&str, &str)] = &[
    ("std::fs", "file I/O"),
    ("std::net", "network I/O"),
    ("std::env", "reads the environment"),
    ("std::process", "starts or ends processes"),
    ("std::thread", "threads make results depend on scheduling"),
    ("std::io::stdin", "console I/O"),
    ("std::io::stdout", "console I/O"),
    ("std::io::stderr", "console I/O"),
    ("SystemTime", "reads the clock"),
    ("Instant", "reads the clock"),
    ("::now", "reads the clock; time comes in with each request"),
    ("Local::", "reads the machine's time zone"),
    ("rand::", "randomness"),
    ("getrandom", "randomness"),
    ("thread_rng", "randomness"),
    ("OsRng", "randomness"),
    ("println!", "console I/O"),
    ("print!", "console I/O"),
    ("eprintln!", "console I/O"),
    ("eprint!", "console I/O"),
    ("dbg!", "console I/O"),
    ("wasm_bindgen", "a binding belongs to wasm/"),
    ("wit_bindgen", "a binding belongs to wasm/"),
    ("js_sys", "a binding belongs to wasm/"),
    ("wasmtime", "the runtime belongs to host/"),
    ("rusqlite", "persistence belongs to host/"),
    ("tokio", "async runtimes belong to host/"),
];

/// Modules of `std` that a grouped import (`use std::{fs, io}`) must not name.
const FORBIDDEN_STD_MODULES: &[&str] = &["fs", "net", "env", "process", "thread"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

#[test]
fn core_manifest_names_no_forbidden_dependency() {
    let manifest = std::fs::read_to_string(root().join("core/Cargo.toml")).unwrap();
    let deps = shipped_dependencies(&manifest);
    assert!(
        deps.iter().any(|d| d == "chrono"),
        "the manifest parser lost core's dependencies: {deps:?}"
    );
    let bad: Vec<&String> = deps
        .iter()
        .filter(|d| FORBIDDEN_CRATES.contains(&d.as_str()))
        .collect();
    assert!(
        bad.is_empty(),
        "core/Cargo.toml depends on {bad:?}; core knows nothing of its faces (ARCHITECTURE.md)"
    );
}

/// The dependency graph as the faces build core: natively with every
/// feature, and for wasm32-unknown-unknown with its default features. (The
/// `typescript` feature is for native code generation only: its ts-rs turns
/// on chrono's default features, whose `wasmbind` would pull wasm-bindgen
/// into a wasm32 build.)
#[test]
fn core_has_no_forbidden_dependency_transitively() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    for (target, features) in [
        (None, "--all-features"),
        (Some("wasm32-unknown-unknown"), ""),
    ] {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root()).args([
            "tree",
            "--package",
            "enlace-core",
            "--edges",
            "normal",
            "--prefix",
            "none",
        ]);
        if !features.is_empty() {
            cmd.arg(features);
        }
        if let Some(t) = target {
            cmd.args(["--target", t]);
        }
        let out = cmd.output().expect("cargo tree runs");
        assert!(
            out.status.success(),
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tree = String::from_utf8_lossy(&out.stdout);
        let crates: Vec<&str> = tree
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert!(
            crates.contains(&"enlace-core") && crates.contains(&"chrono"),
            "unexpected cargo tree output:\n{tree}"
        );
        let bad: Vec<&&str> = crates
            .iter()
            .filter(|c| FORBIDDEN_CRATES.contains(c))
            .collect();
        assert!(
            bad.is_empty(),
            "enlace-core pulls in {bad:?} (target {}); see `cargo tree -p enlace-core -i CRATE`",
            target.unwrap_or("host")
        );
    }
}

#[test]
fn core_source_does_no_io_and_reads_no_clock() {
    let mut files = Vec::new();
    rust_files(&root().join("core/src"), &mut files);
    assert!(
        files.len() >= 10,
        "core/src has only {} files?",
        files.len()
    );
    let mut violations = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(root()).unwrap_or(file).display();
        for (line, what, why) in violations_in(&text) {
            violations.push(format!("{rel}:{line}: `{what}` ({why})"));
        }
    }
    assert!(
        violations.is_empty(),
        "core must stay pure (ARCHITECTURE.md, invariants):\n{}",
        violations.join("\n")
    );
}

/// What the faces must not do again (issue 14): build an `invalid_input`
/// or `not_permitted` of core by hand (once a face copied a core refusal's
/// message, and the host refused dates outside 1900-2200 as
/// `absurd_date` while the other faces accepted them). Unreadable input is
/// `Error::malformed`, core's own constructor; the years are core's `YEARS`.
#[test]
fn faces_build_no_refusal_of_core_and_hold_no_date_bound() {
    let mut files = Vec::new();
    for dir in ["wasm/src", "host/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() >= 20, "{} face files?", files.len());
    let mut found = Vec::new();
    for file in &files {
        let src = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(root()).unwrap_or(file).display();
        for (line, what) in face_drift(&src) {
            found.push(format!("{rel}:{line}: {what}"));
        }
    }
    assert!(
        found.is_empty(),
        "a face re-decides what core decides:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_face_check_finds_what_it_should_and_only_that() {
    let clean = r#"
        // Error::InvalidInput { field, rule } is core's, and 1900 is a year.
        fn f() -> Error { enlace_core::Error::malformed("x", "why") }
        const DOC: &str = "absurd_date";
        pub const EARLIEST_YEAR: i32 = enlace_core::error::YEARS.0;
    "#;
    assert_eq!(face_drift(clean), Vec::<(usize, String)>::new());
    let dirty = "fn a() -> Error { enlace_core::Error::InvalidInput {\n field: f, rule: r } }\n\
                 fn b() -> Error { Error::NotPermitted { role, action, scope: None } }\n\
                 pub const EARLIEST_YEAR: i32 = 1900;\n\
                 fn c(y: i32) -> bool { (1900..=2200).contains(&y) }\n";
    let lines: Vec<usize> = face_drift(dirty).into_iter().map(|(l, _)| l).collect();
    assert_eq!(lines, vec![1, 3, 4, 5, 5]);
}

/// Where `src` builds a core refusal or writes a year bound: line and what.
fn face_drift(src: &str) -> Vec<(usize, String)> {
    let code = code_only(src);
    let code = without_tests(&code);
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        for what in ["Error::InvalidInput{", "Error::NotPermitted{"] {
            if squeezed.contains(what) {
                out.push((i + 1, format!("builds `{what}…}}` by hand")));
            }
        }
        for year in ["1900", "2200"] {
            if contains_word(line, year) {
                out.push((i + 1, format!("a year bound ({year}) of its own")));
            }
        }
    }
    out
}

/// ARCHITECTURE.md's code map names every module of core: a file by its
/// name (`booking.rs`), a folder's `mod.rs` by the folder (`query/`).
#[test]
fn the_code_map_names_every_module_of_core() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let src = root().join("core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut missing = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let name = rel.file_name().unwrap().to_string_lossy().into_owned();
        let named = match name.as_str() {
            "lib.rs" => true,
            "mod.rs" => {
                let dir = rel.parent().unwrap().to_string_lossy().into_owned();
                let last = dir.rsplit('/').next().unwrap().to_owned();
                map.contains(&format!("{dir}/")) || map.contains(&format!("{last}/"))
            }
            _ => map.contains(&format!("`{name}`")) || map.contains(&rel.display().to_string()),
        };
        if !named {
            missing.push(rel.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "core modules ARCHITECTURE.md's code map does not name: {missing:?}"
    );
}

/// The checker itself: it must see through formatting and ignore prose.
#[test]
fn the_source_check_finds_what_it_should_and_only_that() {
    let clean = r###"
        //! No clock here: `Utc::now()` is never called, and std::fs is not used.
        /* a block comment naming SystemTime /* nested: Instant::now() */ still comment */
        const URL: &str = "http://example.org/std::fs/println!";
        const RAW: &str = r#"Utc::now() and "std::env""#;
        fn f<'a>(s: &'a str) -> char { let _ = LocalResult::None::<u8>; 'x' }
        fn g() -> char { '"' }
        use std::{collections::BTreeMap, fmt};
        fn instantly() {}
    "###;
    assert_eq!(violations_in(clean), vec![], "false alarms");
    let dirty = "use std::{collections::BTreeMap, fs};\n\
                 fn a() { let t = chrono::Utc :: now(); }\n\
                 fn b() { println!(\"hi\"); }\n\
                 use std::time::Instant;\n\
                 fn c() -> String { std::env::var(\"X\").unwrap() }\n";
    let found: Vec<(usize, String)> = violations_in(dirty)
        .into_iter()
        .map(|(l, w, _)| (l, w))
        .collect();
    assert_eq!(
        found,
        vec![
            (1, "std::{…fs…}".to_owned()),
            (2, "::now".to_owned()),
            (3, "println!".to_owned()),
            (4, "Instant".to_owned()),
            (5, "std::env".to_owned()),
        ]
    );
}

#[test]
fn the_manifest_check_reads_every_shipped_dependency_table() {
    let manifest = r#"
[package]
name = "x"

[dependencies]
chrono.workspace = true
serde = { version = "1" }
runtime = { package = "wasmtime", version = "48" }

[dependencies.tokio]
version = "1"

[target.'cfg(target_arch = "wasm32")'.dependencies]
wasm-bindgen = "0.2"

[build-dependencies]
cc = "1"

[dev-dependencies]
proptest = "1"
"#;
    assert_eq!(
        shipped_dependencies(manifest),
        [
            "chrono",
            "serde",
            "runtime",
            "wasmtime",
            "tokio",
            "wasm-bindgen",
            "cc"
        ]
    );
}

/// No import cycle between core's modules: a module that needs another is
/// built on it, never the other way round too. See [`module_graph`] for
/// what counts as an edge.
#[test]
fn core_modules_have_no_import_cycle() {
    let src = root().join("core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap_or(f);
            (module_name(rel), std::fs::read_to_string(f).unwrap())
        })
        .collect();
    let file_of = |m: &str| {
        files
            .iter()
            .zip(&modules)
            .find(|(_, (name, _))| name == m)
            .map(|(f, _)| f.strip_prefix(root()).unwrap_or(f).display().to_string())
            .unwrap_or_default()
    };
    let graph = module_graph(&modules);
    assert!(
        graph
            .get("interop::fhir_search")
            .is_some_and(|e| e.contains_key("state")),
        "the module graph lost core's edges: {graph:?}"
    );
    let found = cycles(&graph);
    let report: Vec<String> = found
        .iter()
        .map(|cycle| {
            let mut text = format!("cycle between {}:", cycle.join(", "));
            for from in cycle {
                for (to, line) in &graph[from] {
                    if cycle.contains(to) {
                        text.push_str(&format!("\n  {from} -> {to} ({}:{line})", file_of(from)));
                    }
                }
            }
            text
        })
        .collect();
    assert!(
        found.is_empty(),
        "core's modules import each other in a cycle (ARCHITECTURE.md, invariants); \
         move what both need into a module below them:\n{}",
        report.join("\n")
    );
}

/// The cycle check on a small crate: grouped imports, `super::super::`,
/// macros' `$crate`, and what it must not count (comments, strings, test
/// modules, a module's own ancestors).
#[test]
fn the_cycle_check_finds_what_it_should_and_only_that() {
    let crate_files = |c_uses_a: bool| -> Vec<(String, String)> {
        let c_mod = if c_uses_a {
            "pub mod d;\npub(crate) fn g() { crate::a::h() }\n"
        } else {
            "pub mod d;\npub(crate) fn g() {}\n"
        };
        [
            (
                "lib.rs",
                "pub mod a;\npub mod b;\npub mod c;\npub use crate::a::h;\n",
            ),
            (
                "a.rs",
                "use crate::{\n    b::Thing,\n    c::{self, g as G},\n};\n\
                 // crate::e is only named in a comment\n\
                 pub fn h() {}\n",
            ),
            (
                "b.rs",
                "pub struct Thing;\nfn f() { super :: c::g(); let _ = \"crate::a::h\"; }\n\
                 #[cfg(test)]\nmod tests {\n    use crate::a::h;\n}\n",
            ),
            ("c/mod.rs", c_mod),
            (
                "c/d.rs",
                "use super::super::b::Thing;\nuse crate::c::g;\nuse super::g as g2;\n\
                 macro_rules! m { () => { $crate::e::X } }\npub struct E;\n",
            ),
            ("e.rs", "pub struct X;\n"),
        ]
        .into_iter()
        .map(|(file, text)| (module_name(Path::new(file)), text.to_owned()))
        .collect()
    };
    let names: Vec<String> = crate_files(true).into_iter().map(|(m, _)| m).collect();
    assert_eq!(names, ["", "a", "b", "c", "c::d", "e"]);

    let graph = module_graph(&crate_files(true));
    let edges = |m: &str| -> Vec<(&str, usize)> {
        graph[m].iter().map(|(t, l)| (t.as_str(), *l)).collect()
    };
    assert_eq!(edges(""), [("a", 4)]);
    assert_eq!(edges("a"), [("b", 1), ("c", 1)]);
    assert_eq!(
        edges("b"),
        [("c", 2)],
        "neither strings nor test modules count"
    );
    assert_eq!(edges("c"), [("a", 2)]);
    assert_eq!(
        edges("c::d"),
        [("b", 1), ("e", 4)],
        "its parent c does not count"
    );
    assert_eq!(
        cycles(&graph),
        [vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
    );

    let graph = module_graph(&crate_files(false));
    assert_eq!(cycles(&graph), Vec::<Vec<String>>::new());
}

/// Product source files allowed over [`MAX_FILE_LINES`], each with why. An
/// entry whose file has become short enough must go.
const LONG_FILES: &[(&str, &str)] = &[];

/// The longest a product source file may be, in lines.
const MAX_FILE_LINES: usize = 800;
/// The longest a function of core may be, in lines (a table excepted: see
/// [`long_functions`]).
const MAX_FN_LINES: usize = 120;

#[test]
fn no_product_source_file_is_too_long() {
    let mut files = Vec::new();
    for dir in ["core/src", "wasm/src", "host/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let sizes: Vec<(String, usize)> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(root()).unwrap_or(f);
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (rel.to_string_lossy().replace('\\', "/"), lines)
        })
        .collect();
    let problems = long_files(&sizes, MAX_FILE_LINES, LONG_FILES);
    assert!(
        problems.is_empty(),
        "product source files over {MAX_FILE_LINES} lines (issue 14; split them by what they \
         hold, or list them in LONG_FILES with why):\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_core_function_is_too_long() {
    let mut files = Vec::new();
    rust_files(&root().join("core/src"), &mut files);
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(root()).unwrap_or(file).display();
        for (line, name, lines) in long_functions(&text, MAX_FN_LINES) {
            found.push(format!("{rel}:{line}: fn {name} has {lines} lines"));
        }
    }
    assert!(
        found.is_empty(),
        "functions of core over {MAX_FN_LINES} lines (issue 14; split them into named steps, \
         or say in the doc comment why a table stays one):\n{}",
        found.join("\n")
    );
}

/// The length checks on small inputs.
#[test]
fn the_length_checks_find_what_they_should_and_only_that() {
    let body = |n: usize| "    let _ = 1;\n".repeat(n);
    // A function of `n` lines: its `fn` line, n - 2 lines, its `}`.
    let f = |name: &str, n: usize| format!("fn {name}() {{\n{}}}\n", body(n - 2));
    let text = [
        "//! fn in_a_comment() {\n".to_owned(),
        f("short", 120),
        format!(
            "pub(crate) fn braces(a: [u8; 4], s: &str) -> [char; 2] {{\n\
             let _ = \"{{{{\"; let _ = '{{';\n{}['}}', 'x']\n}}\n",
            body(117)
        ),
        "trait T {\n    fn declared(&self) -> [u8; 4];\n    fn provided(&self) {}\n}\n".to_owned(),
        "type P = fn(u32) -> u32;\n".to_owned(),
        format!("/// The codes, a table.\n#[rustfmt::skip]\n{}", f("codes", 150)),
        format!("/// Tabled and stable: no exemption.\n{}", f("tabled", 121)),
        format!(
            "impl X {{\n    pub fn outer(&self) {{\n        fn inner() {{\n{}        }}\n    }}\n}}\n",
            body(121)
        ),
        format!("#[cfg(test)]\nmod tests {{\n{}}}\n", f("a_long_test", 200)),
    ]
    .concat();
    let found: Vec<(String, usize)> = long_functions(&text, 120)
        .into_iter()
        .map(|(_, name, n)| (name, n))
        .collect();
    assert_eq!(
        found,
        [
            ("braces".to_owned(), 121),
            ("tabled".to_owned(), 121),
            ("outer".to_owned(), 125),
            ("inner".to_owned(), 123),
        ]
    );

    let sizes = [
        ("a.rs".to_owned(), 10),
        ("b.rs".to_owned(), 11),
        ("c.rs".to_owned(), 30),
        ("d.rs".to_owned(), 5),
    ];
    assert_eq!(
        long_files(
            &sizes,
            10,
            &[("c.rs", "being split"), ("d.rs", "old"), ("e.rs", "gone")]
        ),
        [
            "b.rs: 11 lines",
            "d.rs is in LONG_FILES but has 5 lines: take it off the list",
            "e.rs is in LONG_FILES but does not exist: take it off the list",
        ]
    );
}

// --- helpers ------------------------------------------------------------

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// Names of the dependencies a crate ships with: `[dependencies]`,
/// `[build-dependencies]` and their `[target.….]` forms, including the real
/// package name of a renamed dependency. Dev-dependencies are left out:
/// tests and benchmarks may use anything.
fn shipped_dependencies(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for raw in manifest.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']').trim();
            let last = header.rsplit('.').next().unwrap_or("");
            // `[dependencies.tokio]`: the table names the dependency.
            let (table, named) = match header.strip_suffix(&format!(".{last}")) {
                Some(parent) if is_dep_table(parent) => (parent, Some(last)),
                _ => (header, None),
            };
            in_deps = is_dep_table(table) && named.is_none();
            if let Some(name) = named {
                out.push(name.trim_matches('"').to_owned());
            }
            continue;
        }
        if in_deps {
            let key = line.split(['=', '.']).next().unwrap_or("").trim();
            out.push(key.trim_matches('"').to_owned());
            if let Some(rest) = line.split("package").nth(1) {
                let value = rest.trim_start().trim_start_matches('=').trim_start();
                if let Some(v) = value.strip_prefix('"').and_then(|v| v.split('"').next()) {
                    out.push(v.to_owned());
                }
            }
        }
    }
    out
}

fn is_dep_table(header: &str) -> bool {
    let header = header.trim();
    header == "dependencies"
        || header == "build-dependencies"
        || (header.starts_with("target.")
            && (header.ends_with(".dependencies") || header.ends_with(".build-dependencies")))
}

/// `(line, what, why)` for every forbidden use in Rust source `text`.
fn violations_in(text: &str) -> Vec<(usize, String, &'static str)> {
    let code = code_only(text);
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        // `chrono::Utc :: now` and `std :: fs` are the same paths.
        let line = squeeze_paths(line);
        for &(needle, why) in FORBIDDEN_CODE {
            if contains_word(&line, needle) {
                found.push((n + 1, needle.to_owned(), why));
            }
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("std::{") {
            let group = &rest[at + "std::{".len()..];
            let inner = group.split('}').next().unwrap_or("");
            for m in FORBIDDEN_STD_MODULES {
                if inner
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|word| word == *m)
                {
                    found.push((n + 1, format!("std::{{…{m}…}}"), "a forbidden std module"));
                }
            }
            rest = group;
        }
    }
    found
}

/// Removes spaces around `::`.
fn squeeze_paths(line: &str) -> String {
    let mut s = line.to_owned();
    while s.contains(" ::") || s.contains(":: ") {
        s = s.replace(" ::", "::").replace(":: ", "::");
    }
    s
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True when `needle` occurs in `hay` not as part of a longer identifier.
fn contains_word(hay: &str, needle: &str) -> bool {
    let starts_ident = needle.chars().next().is_some_and(is_ident);
    let ends_ident = needle.chars().last().is_some_and(is_ident);
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        (!starts_ident || !before.is_some_and(is_ident))
            && (!ends_ident || !after.is_some_and(is_ident))
    })
}

/// Rust source with comments and the contents of string and character
/// literals removed; line breaks are kept so line numbers stay true.
fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let keep_newlines = |out: &mut String, s: &[char]| {
        for &ch in s {
            if ch == '\n' {
                out.push('\n');
            }
        }
    };
    while i < c.len() {
        let prev_ident = i > 0 && is_ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let start = i;
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            keep_newlines(&mut out, &c[start..i.min(c.len())]);
        } else if c[i] == 'r'
            && (!prev_ident || (i >= 1 && c[i - 1] == 'b' && !(i >= 2 && is_ident(c[i - 2]))))
            && matches!(c.get(i + 1), Some('#') | Some('"'))
        {
            // A raw string: r"…", r#"…"#, br"…".
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let start = j;
            j += 1;
            'raw: while j < c.len() {
                if c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            keep_newlines(&mut out, &c[start..j.min(c.len())]);
            out.push_str("\"\"");
            i = j;
        } else if c[i] == '"' {
            let start = i;
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            keep_newlines(&mut out, &c[start..i.min(c.len())]);
            out.push_str("\"\"");
        } else if c[i] == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime.
            if c.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                out.push_str("' '");
                i = j + 1;
            } else if c.get(i + 2) == Some(&'\'') {
                out.push_str("' '");
                i += 3;
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The module a source file holds, from its path below `src/`:
/// `x.rs` → `x`, `referral/flow.rs` → `referral::flow`, `referral/mod.rs` →
/// `referral`; the crate root (`lib.rs`) is `""`.
fn module_name(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// Module → the modules it uses → the first line that does.
type ModuleGraph = BTreeMap<String, BTreeMap<String, usize>>;

/// The imports between the modules of a crate, `(module, source)` each.
///
/// An edge is every `crate::a::b::…` path (`$crate` in macros too, and each
/// path of a grouped `use crate::{a, b::{c, d}}`) and every `super::…` path
/// (resolved from the module, `super::super::` climbing further), in code
/// outside comments, strings and the test module (cut at the first
/// `#[cfg(test)]` followed by `mod`). A path goes to the longest module that
/// begins it (`crate::state::State` → `state`). A module's edges to itself
/// and to its own ancestors are left out: a submodule naturally uses its
/// parent's items. Paths relative to the module (`use child::X`) are not
/// read: they go down, to the module's own children.
fn module_graph(modules: &[(String, String)]) -> ModuleGraph {
    let names: BTreeSet<&str> = modules.iter().map(|(m, _)| m.as_str()).collect();
    let mut graph = ModuleGraph::new();
    for (module, text) in modules {
        let edges = graph.entry(module.clone()).or_default();
        let code = code_only(text);
        let here: Vec<&str> = if module.is_empty() {
            Vec::new()
        } else {
            module.split("::").collect()
        };
        for (line, path) in crate_paths(without_tests(&code), &here) {
            let Some(target) = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|p| names.contains(p.as_str()))
            else {
                continue;
            };
            let ancestor = module.starts_with(&format!("{target}::"));
            if target != *module && !ancestor {
                edges.entry(target).or_insert(line);
            }
        }
    }
    graph
}

/// Code up to the test module: the first `#[cfg(test)]` followed by `mod`.
fn without_tests(code: &str) -> &str {
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]") {
        let at = from + at;
        let rest = code[at + "#[cfg(test)]".len()..].trim_start();
        if rest.starts_with("mod ") {
            return &code[..at];
        }
        from = at + 1;
    }
    code
}

/// `(line, path)` of every `crate::…` and `super::…` path of `code` (with
/// comments and strings removed), as full paths from the crate root;
/// `here` is the path of the module the code is in.
fn crate_paths(code: &str, here: &[&str]) -> Vec<(usize, Vec<String>)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\n' {
            line += 1;
        }
        if !is_ident(c[i]) || (i > 0 && is_ident(c[i - 1])) {
            i += 1;
            continue;
        }
        let word_end = ident_end(&c, i);
        let word: String = c[i..word_end].iter().collect();
        let mut prefix: Vec<String> = match word.as_str() {
            "crate" => Vec::new(),
            "super" if !here.is_empty() => here[..here.len() - 1]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            _ => {
                i = word_end;
                continue;
            }
        };
        let Some(mut at) = after_path_sep(&c, word_end) else {
            i = word_end;
            continue;
        };
        if word == "super" {
            while c[at..].starts_with(&['s', 'u', 'p', 'e', 'r']) && !prefix.is_empty() {
                match after_path_sep(&c, at + "super".len()) {
                    Some(next) if ident_end(&c, at) == at + "super".len() => {
                        prefix.pop();
                        at = next;
                    }
                    _ => break,
                }
            }
        }
        let mut paths = Vec::new();
        let end = use_tree(&c, at, &mut prefix, &mut paths);
        out.extend(paths.into_iter().map(|p| (line, p)));
        line += c[i..end].iter().filter(|&&ch| ch == '\n').count();
        i = end;
    }
    out
}

fn ident_end(c: &[char], mut i: usize) -> usize {
    while i < c.len() && is_ident(c[i]) {
        i += 1;
    }
    i
}

fn skip_space(c: &[char], mut i: usize) -> usize {
    while i < c.len() && c[i].is_whitespace() {
        i += 1;
    }
    i
}

/// Where the path goes on after a `::` at `c[i..]` (spaces allowed), if
/// there is one.
fn after_path_sep(c: &[char], i: usize) -> Option<usize> {
    let i = skip_space(c, i);
    (c.get(i) == Some(&':') && c.get(i + 1) == Some(&':')).then(|| skip_space(c, i + 2))
}

/// Reads the rest of a path (or use tree, with `{…}` groups) at `c[i..]`,
/// after `prefix::`, pushing every full path it names; returns where it
/// ends.
fn use_tree(c: &[char], i: usize, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut i = skip_space(c, i);
    if c.get(i) == Some(&'{') {
        i += 1;
        loop {
            i = skip_space(c, i);
            match c.get(i) {
                None => return i,
                Some('}') => return i + 1,
                Some(',') => i += 1,
                Some(_) => {
                    i = use_tree(c, i, prefix, out);
                    // `as name`, `*`: up to the next item.
                    while i < c.len() && c[i] != ',' && c[i] != '}' {
                        i += 1;
                    }
                }
            }
        }
    }
    let end = ident_end(c, i);
    let word: String = c[i..end].iter().collect();
    if word.is_empty() || word == "self" {
        // `*`, `<T>`, `self`: the path so far.
        out.push(prefix.clone());
        return end;
    }
    prefix.push(word);
    let end = match after_path_sep(c, end) {
        Some(next) => use_tree(c, next, prefix, out),
        None => {
            out.push(prefix.clone());
            end
        }
    };
    prefix.pop();
    end
}

/// The strongly connected components of more than one module (Tarjan's
/// algorithm), each sorted, in order of their first module.
fn cycles(graph: &ModuleGraph) -> Vec<Vec<String>> {
    #[derive(Default)]
    struct Walk<'g> {
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(graph: &'g ModuleGraph, v: &'g str, w: &mut Walk<'g>) {
        let n = w.index.len();
        w.index.insert(v, n);
        w.low.insert(v, n);
        w.stack.push(v);
        w.on_stack.insert(v);
        for to in graph.get(v).into_iter().flat_map(|e| e.keys()) {
            let to = to.as_str();
            if !w.index.contains_key(to) {
                visit(graph, to, w);
                let low = w.low[v].min(w.low[to]);
                w.low.insert(v, low);
            } else if w.on_stack.contains(to) {
                let low = w.low[v].min(w.index[to]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(m) = w.stack.pop() {
                w.on_stack.remove(m);
                component.push(m.to_owned());
                if m == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut w = Walk::default();
    for v in graph.keys() {
        if !w.index.contains_key(v.as_str()) {
            visit(graph, v.as_str(), &mut w);
        }
    }
    w.found.sort();
    w.found
}

/// What is wrong with the lengths of `files` (`(path, lines)`): a file over
/// `limit` lines not in `exempt`, and an entry of `exempt` whose file is not
/// (or no longer) over it.
fn long_files(files: &[(String, usize)], limit: usize, exempt: &[(&str, &str)]) -> Vec<String> {
    let mut problems: Vec<String> = files
        .iter()
        .filter(|(path, lines)| *lines > limit && !exempt.iter().any(|(p, _)| p == path))
        .map(|(path, lines)| format!("{path}: {lines} lines"))
        .collect();
    for (path, _) in exempt {
        match files.iter().find(|(p, _)| p == path) {
            None => problems.push(format!(
                "{path} is in LONG_FILES but does not exist: take it off the list"
            )),
            Some((_, lines)) if *lines <= limit => problems.push(format!(
                "{path} is in LONG_FILES but has {lines} lines: take it off the list"
            )),
            Some(_) => {}
        }
    }
    problems
}

/// `(line, name, lines)` of every function of Rust source `text` longer
/// than `limit` lines, from its `fn` line to its closing brace, nested
/// functions included; the test module (as [`without_tests`] cuts it) is
/// left out. Found by brace matching on the code without comments and
/// strings. A function is exempt when the doc comment just above it (above
/// its attributes) names it a `table`.
fn long_functions(text: &str, limit: usize) -> Vec<(usize, String, usize)> {
    let code = code_only(text);
    let c: Vec<char> = without_tests(&code).chars().collect();
    let mut line_at = Vec::with_capacity(c.len());
    let mut line = 1;
    for &ch in &c {
        line_at.push(line);
        if ch == '\n' {
            line += 1;
        }
    }
    let source_lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 2 < c.len() {
        let is_fn = c[i] == 'f'
            && c[i + 1] == 'n'
            && c[i + 2].is_whitespace()
            && (i == 0 || !is_ident(c[i - 1]));
        if !is_fn {
            i += 1;
            continue;
        }
        let name_start = skip_space(&c, i + 2);
        let name_end = ident_end(&c, name_start);
        if name_end > name_start
            && let Some(close) = body_end(&c, name_end)
        {
            let (first, last) = (line_at[i], line_at[close]);
            let lines = last - first + 1;
            if lines > limit && !documented_as_table(&source_lines, first) {
                let name = c[name_start..name_end].iter().collect();
                found.push((first, name, lines));
            }
        }
        // On into the body: nested functions count too.
        i = name_end.max(i + 2);
    }
    found
}

/// The index of the `}` that closes the body of the function whose
/// signature goes on at `c[i..]`, or `None` for a declaration without body.
fn body_end(c: &[char], mut i: usize) -> Option<usize> {
    let mut nesting = 0; // () and [] of the signature: `[u8; 4]`
    while i < c.len() {
        match c[i] {
            '(' | '[' => nesting += 1,
            ')' | ']' => nesting -= 1,
            ';' if nesting == 0 => return None,
            '{' if nesting == 0 => break,
            _ => {}
        }
        i += 1;
    }
    let mut depth = 0;
    while i < c.len() {
        match c[i] {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// True when the doc comment above line `fn_line` (1-based; attributes and
/// plain comments may come between) has the word "table".
fn documented_as_table(lines: &[&str], fn_line: usize) -> bool {
    lines[..fn_line.saturating_sub(1).min(lines.len())]
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("//") || l.starts_with("#["))
        .filter(|l| l.starts_with("///"))
        .any(|l| {
            l.split(|ch: char| !ch.is_alphanumeric())
                .any(|w| w.eq_ignore_ascii_case("table") || w.eq_ignore_ascii_case("tables"))
        })
}
