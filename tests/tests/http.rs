//! The scenario corpus against the HTTP face: the real `enlace-host serve`
//! process, its routes, its tokens and its SQLite journal.
//!
//! For every scenario a fresh data folder gets one tenant (`enlace-host
//! tenant create`), then the server starts on an ephemeral port of
//! 127.0.0.1 with `--test-clock FILE`, and the scenario is played by the
//! same `play` as every other face: each request (the network's seeding
//! included) goes to the route of its command with the scenario's
//! idempotency key, each query to the route of its query, as the bearer
//! token of the step's actor (made with `enlace-host token create` when the
//! actor first appears). Before each request the test writes the step's
//! instant into FILE: the host dates commands and queries from it instead of
//! the system clock (`host/src/test_clock.rs`), so deadlines and journal
//! hashes are the scenario's. The outcomes must equal the committed
//! `*.expected.json` with `compare`, as on the other faces; the journal head
//! is the head of the journal the server made durable, whose chain must
//! verify. The server is killed and waited for at the end of each scenario.
//!
//! What HTTP carries differently, and how it is read back (nothing is
//! dropped or loosened):
//!
//! - A command's 200 body is the engine's outcome `{seq, events, replayed}`:
//!   `{"ok": body}`. Any other status carries `{code, message, details}`:
//!   `{"error": body}`, and an engine code must come with the status of its
//!   class (`enlace_host::http::error::status_of`).
//! - A query's 200 body is the `value` of the engine's answer; its `type` is
//!   the one answer type of the query (`ANSWER_TYPES`), so a wrong table
//!   fails the comparison rather than hiding anything.
//! - FHIR answers are the FHIR text, FHIR refusals an OperationOutcome that
//!   carries the engine's code, message and details (as JSON in
//!   `diagnostics`); calendars are the iCalendar text. The host takes a
//!   FHIR base URL from the `Host` header, so a scenario query without
//!   `base_url` is sent without one.
//!
//! The binary is built by `cargo build -p enlace-host` from this test (a
//! dependency's binary is not built for another package's tests). The
//! engine is the component (`dist/enlace.component.wasm`, made by `cargo
//! xtask build`) unless `ENLACE_TEST_ENGINE=native`, as in host/tests.

use enlace_core::ErrorKind;
use enlace_host::http::error::status_of;
use enlace_host::http::routes::{Op, ROUTES, Route, Ty};
use enlace_tests::{Face, check_all, load_all};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The tenant every scenario plays in.
const TENANT: &str = "scenario";

/// The answer type of each query type: the HTTP API answers a query with
/// the `value` of the engine's answer, whose type the query determines.
const ANSWER_TYPES: &[(&str, &str)] = &[
    ("facilities", "facilities"),
    ("services", "services"),
    ("agendas", "agendas"),
    ("free_slots", "free_slots"),
    ("agenda_view", "agenda_view"),
    ("agenda_appointments", "appointments"),
    ("find_beneficiaries", "beneficiaries"),
    ("beneficiary_appointments", "appointments"),
    ("utilization", "utilization"),
    ("waitlist", "waitlist"),
    ("worklist", "worklist"),
    ("outgoing_referrals", "referrals"),
    ("referral", "referral"),
    ("breach_report", "breaches"),
    ("suggest_destinations", "routing"),
    ("audit_trail", "entries"),
    ("verify_audit", "verification"),
    ("conditionality", "conditionality"),
    ("fhir", "fhir"),
    ("calendar", "calendar"),
];

fn workspace() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// The engine the server runs: the component unless `ENLACE_TEST_ENGINE`
/// says `native`.
fn engine() -> String {
    std::env::var("ENLACE_TEST_ENGINE").unwrap_or_else(|_| "component".into())
}

/// `enlace-host`, built once per run with this test's profile (into the
/// same target folder: cargo's own settings are inherited).
fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test's own path");
        // target/<profile>/deps/http-… → target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from target/<profile>/deps")
            .to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace()).args([
            "build",
            "--quiet",
            "-p",
            "enlace-host",
            "--bin",
            "enlace-host",
        ]);
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("run cargo build -p enlace-host");
        assert!(status.success(), "cargo build -p enlace-host failed");
        let bin = profile_dir.join(format!("enlace-host{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "{} was not built", bin.display());
        if engine() == "component" {
            let component = workspace().join("dist/enlace.component.wasm");
            assert!(
                component.is_file(),
                "{} is missing: run `cargo xtask build` to build the component, then test again \
                 (or ENLACE_TEST_ENGINE=native)",
                component.display()
            );
        }
        bin
    })
}

/// A folder under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "enlace-http-face-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a CLI subcommand of `enlace-host` on `data`; returns its stdout.
fn cli(data: &Path, args: &[&str]) -> String {
    let out = Command::new(binary())
        .args(args)
        .env("ENLACE_DATA", data)
        .output()
        .expect("run enlace-host");
    assert!(
        out.status.success(),
        "enlace-host {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An answer over HTTP.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: the body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }
}

/// One HTTP/1.1 request on its own connection (`Connection: close`).
/// `host`: the `Host` header, or none.
fn http(
    addr: &str,
    method: &str,
    target: &str,
    host: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("a read timeout");
    let mut head = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if let Some(h) = host {
        head.push_str(&format!("Host: {h}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send the request");
    stream.write_all(body).expect("send the body");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {target}: reading the answer: {e}"));
    parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "{method} {target}: not an HTTP answer: {}",
            String::from_utf8_lossy(&raw)
        )
    })
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    } else if let Some((_, len)) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        body.truncate(len.parse().ok()?);
    }
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&b[..eol]).ok()?.split(';').next()?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// Percent-encodes a path segment or a query-string component.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A scalar of a scenario as it is written in a URL.
fn url_value(v: &Value, what: &str) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("{what}: {other} cannot be written in a URL"),
    }
}

fn query_string(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("?{}", joined.join("&"))
}

/// Fills the `{param}`s of a route's path from `fields`, taking them out.
fn fill_path(route: &Route, fields: &mut Map<String, Value>) -> String {
    let mut path = route.path.to_owned();
    for p in route.path_params {
        let v = fields.remove(p.field).unwrap_or_else(|| {
            panic!(
                "{}: `{}` is missing: the request cannot be said over HTTP",
                route.id, p.field
            )
        });
        path = path.replace(&format!("{{{}}}", p.name), &encode(&url_value(&v, p.field)));
    }
    path
}

/// The status an engine error code comes with, if it is an engine code.
fn engine_status(code: &str) -> Option<u16> {
    ErrorKind::of_code(code).map(|k| status_of(k).as_u16())
}

/// Reads an error answer `{code, message, details}` and checks its status.
fn error_outcome(what: &str, resp: &Response) -> Value {
    let body = resp.json();
    if let Some(code) = body["code"].as_str()
        && let Some(expected) = engine_status(code)
    {
        assert_eq!(
            resp.status, expected,
            "{what}: the engine's `{code}` came with status {}",
            resp.status
        );
    }
    json!({ "error": body })
}

/// The server of one scenario, with its data folder and clock.
struct Http {
    child: Child,
    addr: String,
    _dir: TempDir,
    data: PathBuf,
    clock: PathBuf,
    /// Bearer tokens by actor (its JSON text).
    tokens: HashMap<String, String>,
}

impl Http {
    fn start() -> Http {
        let bin = binary();
        let dir = TempDir::new();
        let data = dir.0.join("data");
        let clock = dir.0.join("clock");
        cli(&data, &["tenant", "create", TENANT]);
        // Any instant: each request writes its own before it is sent.
        std::fs::write(&clock, "2026-01-01T00:00:00Z").expect("the clock file");
        let mut child = Command::new(bin)
            .current_dir(workspace())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .args(["--engine", &engine(), "--web-root", "/nonexistent"])
            .arg("--test-clock")
            .arg(&clock)
            .env("ENLACE_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start enlace-host serve");
        let stdout = child.stdout.take().expect("the server's stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("enlace-host listening on http://")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("enlace-host serve did not start");
            }
        };
        Http {
            child,
            addr,
            _dir: dir,
            data,
            clock,
            tokens: HashMap::new(),
        }
    }

    /// The token of `actor`, made with the CLI the first time.
    fn token(&mut self, actor: &Value) -> String {
        let key = actor.to_string();
        if let Some(t) = self.tokens.get(&key) {
            return t.clone();
        }
        let field = |name: &str| actor[name].as_str();
        let allowed = ["user", "agency", "facility", "role"];
        let obj = actor
            .as_object()
            .unwrap_or_else(|| panic!("actor {actor} is not an object"));
        assert!(
            obj.keys().all(|k| allowed.contains(&k.as_str())),
            "actor {actor} cannot be given a token"
        );
        let (Some(user), Some(agency), Some(role)) =
            (field("user"), field("agency"), field("role"))
        else {
            panic!("actor {actor} cannot be given a token");
        };
        let mut args = vec![
            "token", "create", "--tenant", TENANT, "--user", user, "--agency", agency, "--role",
            role,
        ];
        if let Some(f) = field("facility") {
            args.extend(["--facility", f]);
        }
        let token = cli(&self.data, &args).trim().to_owned();
        self.tokens.insert(key, token.clone());
        token
    }

    /// Sets the server's clock to `at` (written whole, then renamed).
    fn set_clock(&self, at: &str) {
        let tmp = self.clock.with_extension("next");
        std::fs::write(&tmp, at).expect("write the clock");
        std::fs::rename(&tmp, &self.clock).expect("set the clock");
    }

    /// Sends a request as `actor`; `host` is the `Host` header (none: no
    /// header).
    fn send(
        &mut self,
        actor: &Value,
        method: &str,
        target: &str,
        host: Option<&str>,
        extra: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Response {
        let auth = format!("Bearer {}", self.token(actor));
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        let bytes = body.map(|b| serde_json::to_vec(b).expect("serialisable"));
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        http(&self.addr, method, target, host, &headers, bytes.as_deref())
    }

    fn fhir(&mut self, actor: &Value, q: &Value) -> Value {
        let rt = q["resource_type"].as_str().expect("resource_type");
        let path = match (rt, q.get("id").filter(|v| !v.is_null())) {
            ("metadata", None) => "/fhir/metadata".to_owned(),
            (rt, None) => format!("/fhir/{}", encode(rt)),
            (rt, Some(id)) => format!("/fhir/{}/{}", encode(rt), encode(&url_value(id, "id"))),
        };
        let pairs: Vec<(String, String)> = q["params"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    url_value(&p["name"], "params.name"),
                    url_value(&p["value"], "params.value"),
                )
            })
            .collect();
        let known = ["type", "resource_type", "id", "params", "base_url"];
        if let Some(k) = q
            .as_object()
            .and_then(|o| o.keys().find(|k| !known.contains(&k.as_str())))
        {
            panic!("fhir query field `{k}` cannot be said over HTTP");
        }
        // The host answers with the base URL `http://{Host}/fhir`; no base
        // URL is asked for by sending no Host header.
        let host = q.get("base_url").filter(|v| !v.is_null()).map(|url| {
            url.as_str()
                .and_then(|u| u.strip_prefix("http://"))
                .and_then(|u| u.strip_suffix("/fhir"))
                .filter(|h| !h.is_empty() && !h.contains('/'))
                .unwrap_or_else(|| panic!("base_url {url} cannot be said over HTTP"))
                .to_owned()
        });
        let target = format!("{path}{}", query_string(&pairs));
        let resp = self.send(actor, "GET", &target, host.as_deref(), &[], None);
        let media = resp.header("content-type").unwrap_or_default().to_owned();
        assert!(
            media.starts_with("application/fhir+json"),
            "{target}: media type {media}"
        );
        if resp.status == 200 {
            return json!({ "answer": { "type": "fhir", "value": resp.text() } });
        }
        // An OperationOutcome with the engine's code, message and details.
        let outcome = resp.json();
        let issue = &outcome["issue"][0];
        let code = issue["details"]["coding"][0]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{target}: no code in {outcome}"));
        let details: Value = serde_json::from_str(issue["diagnostics"].as_str().unwrap_or("{}"))
            .unwrap_or_else(|e| panic!("{target}: diagnostics are not JSON details: {e}"));
        if let Some(expected) = engine_status(code) {
            assert_eq!(resp.status, expected, "{target}: status of `{code}`");
        }
        json!({ "error": {
            "code": code,
            "message": issue["details"]["text"],
            "details": details,
        }})
    }

    fn calendar(&mut self, actor: &Value, q: &Value) -> Value {
        let of = q["of"].as_str().expect("of");
        let collection = match of {
            "agenda" => "agendas",
            "facility" => "facilities",
            "beneficiary" => "beneficiaries",
            "appointment" => "appointments",
            other => panic!("calendar of {other:?} cannot be said over HTTP"),
        };
        let id = url_value(&q["id"], "id");
        let mut pairs = Vec::new();
        for (k, v) in q.as_object().expect("a query object") {
            match k.as_str() {
                "type" | "of" | "id" => {}
                "from" | "to" if v.is_null() => {}
                "from" | "to" => pairs.push((k.clone(), url_value(v, k))),
                other => panic!("calendar query field `{other}` cannot be said over HTTP"),
            }
        }
        let target = format!(
            "/v1/{collection}/{}/calendar{}",
            encode(&id),
            query_string(&pairs)
        );
        let addr = self.addr.clone();
        let resp = self.send(actor, "GET", &target, Some(&addr), &[], None);
        if resp.status != 200 {
            return error_outcome(&target, &resp);
        }
        let media = resp.header("content-type").unwrap_or_default();
        assert!(
            media.starts_with("text/calendar"),
            "{target}: media type {media}"
        );
        json!({ "answer": { "type": "calendar", "value": resp.text() } })
    }
}

impl Face for Http {
    fn execute(&mut self, request: &Value) -> Value {
        let command = request["command"]
            .as_object()
            .unwrap_or_else(|| panic!("a request without a command: {request}"));
        let ty = command["type"].as_str().expect("a command type");
        let (route, wrap) = ROUTES
            .iter()
            .find_map(|r| match r.op {
                Op::Command { ty: t, wrap } if t == ty => Some((r, wrap)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no route for the command {ty}"));
        let mut fields = command.clone();
        fields.remove("type");
        let path = fill_path(route, &mut fields);
        let body = match wrap {
            None => Value::Object(fields),
            Some(w) => {
                let inner = fields
                    .remove(w)
                    .unwrap_or_else(|| panic!("{ty}: `{w}` is missing"));
                assert!(
                    fields.is_empty(),
                    "{ty}: fields {:?} besides `{w}` cannot be said over HTTP",
                    fields.keys().collect::<Vec<_>>()
                );
                inner
            }
        };
        self.set_clock(request["at"].as_str().expect("an instant"));
        let mut extra = Vec::new();
        let key = request["key"].as_str().map(str::to_owned);
        if let Some(k) = &key {
            extra.push(("Idempotency-Key", k.as_str()));
        }
        let addr = self.addr.clone();
        let resp = self.send(
            &request["actor"],
            route.method.as_str(),
            &path,
            Some(&addr),
            &extra,
            Some(&body),
        );
        if resp.status != 200 {
            return error_outcome(&format!("{ty} {path}"), &resp);
        }
        let outcome = resp.json();
        assert_eq!(
            resp.header("idempotent-replayed") == Some("true"),
            outcome["replayed"] == json!(true),
            "{ty}: the Idempotent-Replayed header disagrees with {outcome}"
        );
        json!({ "ok": outcome })
    }

    fn query(&mut self, actor: &Value, query: &Value, now: &str) -> Value {
        self.set_clock(now);
        let ty = query["type"].as_str().expect("a query type");
        match ty {
            "fhir" => return self.fhir(actor, query),
            "calendar" => return self.calendar(actor, query),
            _ => {}
        }
        let route = ROUTES
            .iter()
            .find(|r| matches!(r.op, Op::Query { ty: t } if t == ty))
            .unwrap_or_else(|| panic!("no route for the query {ty}"));
        let mut fields = query.as_object().expect("a query object").clone();
        fields.remove("type");
        let path = fill_path(route, &mut fields);
        let mut pairs = Vec::new();
        for (k, v) in fields {
            let p = route
                .query_params
                .iter()
                .find(|p| p.field == k)
                .unwrap_or_else(|| panic!("{ty}: `{k}` cannot be said over HTTP"));
            match (&v, p.ty) {
                // An absent optional field reads as null.
                (Value::Null, _) if !p.required => {}
                (Value::Array(items), Ty::List) => {
                    for item in items {
                        pairs.push((p.name.to_owned(), url_value(item, &k)));
                    }
                }
                _ => pairs.push((p.name.to_owned(), url_value(&v, &k))),
            }
        }
        let target = format!("{path}{}", query_string(&pairs));
        let addr = self.addr.clone();
        let resp = self.send(actor, "GET", &target, Some(&addr), &[], None);
        if resp.status != 200 {
            return error_outcome(&target, &resp);
        }
        let answer_type = ANSWER_TYPES
            .iter()
            .find(|(q, _)| *q == ty)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no answer type for the query {ty}"));
        json!({ "answer": { "type": answer_type, "value": resp.json() } })
    }

    /// The head of the journal the server made durable (every answer waits
    /// for its commit), after checking its chain.
    fn head(&mut self) -> String {
        let path = enlace_host::tenant::journal_path(&self.data, TENANT);
        let conn = enlace_host::journal::open_reader(&path).expect("the tenant's journal");
        let entries =
            enlace_host::journal::read_after(&conn, 0, u64::MAX).expect("the journal reads");
        let v = enlace_core::verify(&entries);
        assert!(v.broken.is_none(), "the durable journal breaks: {v:?}");
        v.head
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Then the fields drop: the data folder goes.
    }
}

#[test]
fn every_query_of_the_api_has_its_answer_type() {
    for r in ROUTES {
        if let Op::Query { ty } = r.op {
            assert!(
                ANSWER_TYPES.iter().any(|(q, _)| *q == ty),
                "the query {ty} of {} has no answer type here",
                r.path
            );
        }
    }
}

#[test]
fn http_face_matches_the_committed_outcomes() {
    assert!(!load_all().is_empty(), "the scenario corpus is empty");
    let failures = check_all(&mut || Box::new(Http::start()) as Box<dyn Face>, false);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
