//! Architecture invariants of enlace-core, checked mechanically (see
//! ARCHITECTURE.md, "Architecture invariants").
//!
//! - core depends on no binding, Wasm runtime, HTTP, SQL, async or
//!   randomness crate: not in `core/Cargo.toml`, and not transitively, for
//!   the host target and for wasm32-unknown-unknown;
//! - core's source does no I/O, reads no clock, no environment and no
//!   random source.
//!
//! The source check reads code with comments and string literals removed,
//! so prose about clocks and URLs in strings do not trip it.

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
