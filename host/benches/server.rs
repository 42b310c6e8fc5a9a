//! Server benchmarks (a bench binary, not a timed test):
//!
//! ```sh
//! cargo bench -p enlace-host --bench server            # all three
//! cargo bench -p enlace-host --bench server -- durable # or national, cold
//! ```
//!
//! - `durable`: durable bookings per second with 64 concurrent HTTP clients
//!   on loopback, twice: clients in this process (reqwest), then `wrk` in
//!   its own process (Debian package `wrk`, installed by the bench when
//!   missing and run as root) with 64 connections, a Lua script that sends
//!   each booking of a distinct free slot once, with its own idempotency key
//!   and a clerk's bearer token; the count of new `appointment_booked` in
//!   the journal must equal wrk's 2xx; then wrk again with the same number
//!   of new bookings sent 20 to a request through `POST /v1/batch` (16
//!   connections). Each is printed next to the raw SQLite rate for the
//!   same rows written in transactions of the same size on the same disk,
//!   in the same run; then p50/p99 latency at half the in-process rate
//!   (open loop).
//! - `national`: 400,000 bookings and 50,000 referral transitions through
//!   the HTTP API, durable.
//! - `cold`: server start-up with a 1,000,000-event journal: from a snapshot
//!   `snapshot_every` entries behind, from the snapshot a graceful stop
//!   writes, and by replaying the whole journal, side by side.
//!
//! The server runs in this process on 127.0.0.1 with the engine component
//! in wasmtime, exactly as `enlace-host serve` runs it. Data lives under
//! `target/bench-host/` (the project's disk). Figures are printed, and
//! written to `target/bench-host/results.json`.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use enlace_core::synth::{self, Spec};
use enlace_core::{Actor, Command, Request, Role};
use enlace_host::auth::Registry;
use enlace_host::backend::{EngineBackend, NativeBackend};
use enlace_host::config::{Config, EngineKind};
use enlace_host::journal::Journal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const CLIENTS: usize = 64;

fn bench_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-host")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A network sized for the run, dated from now.
fn spec(tier1: u32, beneficiaries: u32) -> Spec {
    Spec {
        seed: 42,
        tier1,
        tier2: 45.min(tier1 / 10).max(2),
        tier3: 5.min(tier1 / 90).max(1),
        agendas_per_facility: 10,
        beneficiaries,
        horizon_days: 120,
        slot_minutes: 15,
        start: Utc::now() - Duration::minutes(5),
    }
}

/// Writes the reference data of `spec` into tenant `demo` of `data`
/// (decided by the native engine: set-up, not measured) and returns it.
fn prepare(
    data: &Path,
    spec: &Spec,
    extra: impl FnOnce(&mut NativeBackend) -> Vec<enlace_core::Entry>,
) -> u64 {
    let reg = Registry::open(data).unwrap();
    reg.create_tenant("demo").unwrap();
    let mut journal = Journal::open(&enlace_host::tenant::journal_path(data, "demo")).unwrap();
    let mut engine = NativeBackend::new();
    let mut entries = Vec::new();
    for req in synth::reference(spec) {
        if let Ok(Ok(ex)) = engine.execute(&req) {
            entries.extend(ex.entry);
        }
    }
    entries.extend(extra(&mut engine));
    for chunk in entries.chunks(5000) {
        journal.append(chunk).unwrap();
    }
    journal.len()
}

/// Distinct bookable slots of the first-level agendas, start-major, so that
/// consecutive bookings never share a beneficiary at the same time.
fn slots(spec: &Spec, n: usize) -> Vec<(String, u32, DateTime<Utc>)> {
    let mut out = Vec::with_capacity(n);
    let first = spec.start.date_naive() + Duration::days(1);
    let mut day = 0;
    while out.len() < n && day < i64::from(spec.horizon_days) - 2 {
        let date = first + Duration::days(day);
        day += 1;
        if date.weekday().number_from_monday() > 5 {
            continue;
        }
        for k in 0..32u32 {
            let minute = if k < 16 {
                8 * 60 + k * 15
            } else {
                13 * 60 + (k - 16) * 15
            };
            for f in 0..spec.tier1 {
                let (_, tz) = synth::REGIONS[(f as usize) % synth::REGIONS.len()];
                let tz: chrono_tz::Tz = tz.parse().unwrap();
                let Some(start) = date
                    .and_hms_opt(minute / 60, minute % 60, 0)
                    .and_then(|l| tz.from_local_datetime(&l).single())
                else {
                    continue;
                };
                for a in 0..spec.agendas_per_facility {
                    out.push((
                        format!("{}-A{:02}", synth::facility_id(f), a + 1),
                        f,
                        start.with_timezone(&Utc),
                    ));
                }
            }
        }
    }
    out.truncate(n);
    out
}

fn clerk(f: u32) -> Actor {
    Actor::new(
        "bench.clerk",
        synth::CLINIC_AGENCY,
        Some(&synth::facility_id(f)),
        Role::Clerk,
    )
}

/// The component, as `serve` runs it; `ENLACE_BENCH_ENGINE=native` runs
/// native core instead, to see what the engine's speed weighs.
fn engine_kind() -> EngineKind {
    match std::env::var("ENLACE_BENCH_ENGINE").as_deref() {
        Ok("native") => EngineKind::Native,
        _ => EngineKind::Component,
    }
}

async fn start_server(data: &Path) -> (enlace_host::server::Running, f64) {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data: data.to_owned(),
        web_root: PathBuf::from("/nonexistent"),
        engine: engine_kind(),
        ..Config::default()
    };
    // As `serve` does: ENLACE_SNAPSHOT_EVERY, ENLACE_MAX_BATCH, … apply.
    config
        .apply_env(std::env::vars().filter(|(k, _)| k != "ENLACE_LOG"))
        .unwrap();
    let t0 = Instant::now();
    let factory = enlace_host::cli::backend_factory(engine_kind(), None, None).unwrap();
    let running = enlace_host::server::start(&config, factory).await.unwrap();
    (running, t0.elapsed().as_secs_f64())
}

/// One HTTP request to send: path, body, token, idempotency key.
#[derive(Clone)]
struct Job {
    path: String,
    body: Value,
    token: usize,
}

/// Sends `jobs` with `CLIENTS` closed-loop clients; returns (ok, elapsed s).
async fn closed_loop(base: &str, tokens: &[String], jobs: Arc<Vec<Job>>) -> (usize, f64) {
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..CLIENTS {
        let (jobs, next, ok) = (jobs.clone(), next.clone(), ok.clone());
        let tokens = tokens.to_vec();
        let base = base.to_owned();
        handles.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let r = http
                    .post(format!("{base}{}", job.path))
                    .bearer_auth(&tokens[job.token])
                    .json(&job.body)
                    .send()
                    .await
                    .unwrap();
                if r.status().as_u16() == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                let _ = r.bytes().await;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    (ok.load(Ordering::Relaxed), t0.elapsed().as_secs_f64())
}

fn clerk_tokens(data: &Path, spec: &Spec) -> Vec<String> {
    let reg = Registry::open(data).unwrap();
    (0..spec.tier1)
        .map(|f| reg.create_token("demo", &clerk(f), "bench").unwrap().1)
        .collect()
}

fn booking_jobs(
    slots: &[(String, u32, DateTime<Utc>)],
    beneficiaries: u32,
    offset: usize,
) -> Vec<Job> {
    slots
        .iter()
        .enumerate()
        .map(|(i, (agenda, f, start))| Job {
            path: "/v1/appointments".into(),
            body: json!({"agenda": agenda, "start": start,
                         "beneficiary": synth::beneficiary_id(((i + offset) % beneficiaries as usize) as u32)}),
            token: *f as usize,
        })
        .collect()
}

/// Raw SQLite: the same rows, in transactions of `batch` rows, same schema,
/// same pragmas, same disk.
fn raw_sqlite(dir: &Path, rows: &[enlace_core::Entry], batch: usize) -> f64 {
    let mut j = Journal::open(&dir.join("raw.sqlite")).unwrap();
    // A fresh table starts at seq 1: the same rows, renumbered (the journal
    // refuses a gap), bytes otherwise unchanged.
    let rows: Vec<enlace_core::Entry> = rows
        .iter()
        .enumerate()
        .map(|(i, e)| enlace_core::Entry {
            seq: i as u64 + 1,
            ..e.clone()
        })
        .collect();
    let t0 = Instant::now();
    for chunk in rows.chunks(batch.max(1)) {
        j.append(chunk).unwrap();
    }
    rows.len() as f64 / t0.elapsed().as_secs_f64()
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The commit histogram's totals from `/metrics`: (batches, commands).
async fn batch_totals(base: &str) -> (f64, f64) {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (
        metric(&text, "enlace_commit_batch_size_count{tenant=\"demo\"}"),
        metric(&text, "enlace_commit_batch_size_sum{tenant=\"demo\"}"),
    )
}

fn mean_batch(before: (f64, f64), after: (f64, f64)) -> usize {
    ((after.1 - before.1) / (after.0 - before.0).max(1.0)).round() as usize
}

/// Bookings the external load generator sends (each a distinct free slot).
const WRK_BOOKINGS: usize = 60_000;
/// wrk's threads and connections: one thread per core, as many
/// connections as the in-process clients.
const WRK_THREADS: usize = 2;
/// Bookings per `POST /v1/batch` request, and the connections that send them.
const WRK_BATCH: usize = 20;
const WRK_BATCH_CONNECTIONS: usize = 16;

/// The wrk script: each wrk thread sends the bookings of its own file once
/// each (one request per line: token, idempotency key and JSON body,
/// tab-separated), counts the answers, and stops when every booking of its
/// file has its answer. A connection with no booking left to send asks for
/// `/v1/me` without a token: 401, never counted as 2xx, changes nothing
/// (the same filler answers wrk's one call of `request()` when it checks
/// the script, which sends nothing).
/// Each thread writes `done-ID` (ok, failed, first send and last answer
/// on CLOCK_MONOTONIC) for the bench to read.
const WRK_SCRIPT: &str = r#"
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } enlace_timespec;
int clock_gettime(int clk, enlace_timespec *tp);
]]
local function now()
  local t = ffi.new("enlace_timespec")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.tv_sec) + tonumber(t.tv_nsec) * 1e-9
end

local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
end

local reqs, n, sent, ok, failed, t0, filler, out, batched
function init(args)
  local dir = args[1]
  batched = args[2] == "batch"
  reqs = {}
  n = 0
  for line in io.lines(dir .. "/requests-" .. id .. ".tsv") do
    local token, key, path, count, body =
      line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }
    if key ~= "" then headers["Idempotency-Key"] = key end
    reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
    n = n + tonumber(count)
  end
  -- n counts bookings; requests are sent one per line. The first call of
  -- request() gets the filler: wrk calls it once on thread 0's state to
  -- check the script, and sends nothing then.
  sent, ok, failed = -1, 0, 0
  filler = wrk.format("GET", "/v1/me")
  out = dir .. "/done-" .. id
end

function request()
  if sent < 0 then
    sent = 0
    return filler
  end
  if sent < #reqs then
    if sent == 0 then t0 = now() end
    sent = sent + 1
    return reqs[sent]
  end
  return filler
end

function response(status, headers, body)
  if status == 401 then return end
  if batched then
    -- One answer per command: {"body": ..., "status": 200} when booked.
    local _, booked = string.gsub(body, '"status":200}', "")
    local _, all = string.gsub(body, '"status":%d+}', "")
    ok = ok + booked
    failed = failed + all - booked
  elseif status == 200 then ok = ok + 1 else failed = failed + 1 end
  if ok + failed == n then
    local f = io.open(out, "w")
    f:write(string.format("%d %d %.6f %.6f\n", ok, failed, t0, now()))
    f:close()
    wrk.thread:stop()
  end
end
"#;

/// The path of `wrk`, installing Debian's package when it is missing and
/// this runs as root; `None` (with the reason printed) otherwise.
fn ensure_wrk() -> Option<PathBuf> {
    let find = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("wrk"))
                .find(|p| p.is_file())
        })
    };
    if let Some(p) = find() {
        return Some(p);
    }
    println!("wrk is not installed: trying `apt-get install -y wrk` (Debian package)");
    let installed = std::process::Command::new("apt-get")
        .args(["install", "-y", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        println!(
            "wrk could not be installed: run `DEBIAN_FRONTEND=noninteractive apt-get install -y wrk` as root, then this bench again"
        );
    }
    find()
}

/// What wrk measured.
struct WrkRun {
    ok: usize,
    failed: usize,
    secs: f64,
    /// wrk's own summary: responses, and responses that were not 2xx/3xx
    /// (the 401 fillers and any refused booking).
    responses: usize,
    non_2xx: usize,
}

/// Runs wrk against `base` with `jobs` over `connections` connections and
/// `WRK_THREADS` threads, every job sent exactly once: one request each,
/// or, with `batch` > 1, up to `batch` jobs of one token per request to
/// `POST /v1/batch` (each with its own key).
async fn run_wrk(
    wrk: &Path,
    dir: &Path,
    base: &str,
    tokens: &[String],
    jobs: &[Job],
    connections: usize,
    batch: usize,
) -> WrkRun {
    use std::io::Write;
    let dir = dir.to_owned();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("booking.lua"), WRK_SCRIPT).unwrap();
    for t in 0..WRK_THREADS {
        let _ = std::fs::remove_file(dir.join(format!("done-{t}")));
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(dir.join(format!("requests-{t}.tsv"))).unwrap(),
        );
        let mine = jobs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % WRK_THREADS == t);
        if batch <= 1 {
            for (i, job) in mine {
                writeln!(
                    f,
                    "{}\twrk-{i}\t{}\t1\t{}",
                    tokens[job.token], job.path, job.body
                )
                .unwrap();
            }
        } else {
            // A batch speaks for one actor: grouped by token, in order.
            let mut by_token: std::collections::BTreeMap<usize, Vec<(usize, &Job)>> =
                std::collections::BTreeMap::new();
            for (i, job) in mine {
                by_token.entry(job.token).or_default().push((i, job));
            }
            let mut lines = Vec::new();
            for (token, list) in by_token {
                for chunk in list.chunks(batch) {
                    let commands: Vec<Value> = chunk
                        .iter()
                        .map(|(i, job)| json!({"method": "POST", "path": job.path, "key": format!("wrk-batch-{i}"), "body": job.body}))
                        .collect();
                    lines.push((
                        chunk[0].0,
                        token,
                        chunk.len(),
                        json!({ "commands": commands }),
                    ));
                }
            }
            // Sent in the jobs' order (start-major), as single requests are.
            lines.sort_by_key(|l| l.0);
            for (_, token, count, body) in lines {
                writeln!(f, "{}\t\t/v1/batch\t{count}\t{body}", tokens[token]).unwrap();
            }
        }
        f.flush().unwrap();
    }
    let mut child = std::process::Command::new(wrk)
        .args([
            &format!("-t{WRK_THREADS}"),
            &format!("-c{connections}"),
            "-d600s",
            "--timeout",
            "60s",
            "-s",
        ])
        .arg(dir.join("booking.lua"))
        .arg(base)
        .arg("--")
        .arg(&dir)
        .arg(if batch > 1 { "batch" } else { "single" })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run wrk");
    let pid = child.id();
    // wrk runs for a fixed duration: once every thread has its answers, a
    // SIGINT ends it early (only wrk's main thread is left to take it).
    let done: Vec<String> = loop {
        let files: Vec<Option<String>> = (0..WRK_THREADS)
            .map(|t| std::fs::read_to_string(dir.join(format!("done-{t}"))).ok())
            .collect();
        if files.iter().all(Option::is_some) {
            break files.into_iter().flatten().collect();
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("wrk ended ({status}) before every booking had its answer: {err}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (mut ok, mut failed, mut t0, mut t1) = (0, 0, f64::MAX, 0.0f64);
    for d in done {
        let f: Vec<&str> = d.split_whitespace().collect();
        ok += f[0].parse::<usize>().unwrap();
        failed += f[1].parse::<usize>().unwrap();
        t0 = t0.min(f[2].parse().unwrap());
        t1 = t1.max(f[3].parse().unwrap());
    }
    let responses = stdout
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let non_2xx = stdout
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    for l in stdout.lines().filter(|l| l.contains("Socket errors")) {
        println!("wrk: {}", l.trim());
    }
    WrkRun {
        ok,
        failed,
        secs: t1 - t0,
        responses,
        non_2xx,
    }
}

/// Journal entries of `data`'s tenant `demo` after `after`, up to `limit`.
fn journal_rows(data: &Path, after: u64, limit: u64) -> Vec<enlace_core::Entry> {
    let conn = enlace_host::journal::open_reader(&enlace_host::tenant::journal_path(data, "demo"))
        .unwrap();
    enlace_host::journal::read_after(&conn, after, limit).unwrap()
}

async fn durable(results: &mut serde_json::Map<String, Value>) {
    println!("\n## durable bookings/s with {CLIENTS} clients");
    let dir = bench_dir("durable");
    let data = dir.join("data");
    let spec = spec(100, 20_000);
    let base_len = prepare(&data, &spec, |_| Vec::new());
    let tokens = clerk_tokens(&data, &spec);
    let n = 30_000;
    let open_max = 40_000;
    let all = slots(&spec, n + open_max + 2 * WRK_BOOKINGS);
    let (running, _) = start_server(&data).await;
    let base = format!("http://{}", running.addr);

    // 1. In-process clients (reqwest, in this process, beside the server).
    let before = batch_totals(&base).await;
    let jobs = Arc::new(booking_jobs(&all[..n], spec.beneficiaries, 0));
    let (ok, secs) = closed_loop(&base, &tokens, jobs).await;
    let rate = ok as f64 / secs;
    let mean = mean_batch(before, batch_totals(&base).await);
    println!(
        "server, {CLIENTS} in-process clients: {ok} durable bookings in {secs:.2} s = {rate:.0}/s (mean group commit {mean} commands)"
    );
    let rows = journal_rows(&data, base_len, ok as u64);
    let raw = raw_sqlite(&bench_dir("durable-raw-in-process"), &rows, mean);

    // 2. wrk in its own process, the same number of connections.
    let mut wrk_json = Value::Null;
    let mut wrk_line = None;
    let mut batch_line = None;
    let wrk_from = base_len + ok as u64;
    let wrk_slots = &all[n + open_max..];
    if let Some(wrk) = ensure_wrk() {
        // The raw rate swings with the other writers of this shared disk:
        // measured just before wrk (on the in-process run's rows, same shape)
        // and just after (on wrk's own rows), the ratio taken to their mean.
        let raw_pre = raw_sqlite(&bench_dir("durable-raw-pre-wrk"), &rows, mean);
        let before = batch_totals(&base).await;
        let jobs = booking_jobs(&wrk_slots[..WRK_BOOKINGS], spec.beneficiaries, n + open_max);
        let w = run_wrk(&wrk, &dir.join("wrk"), &base, &tokens, &jobs, CLIENTS, 1).await;
        let mean_w = mean_batch(before, batch_totals(&base).await);
        let wrate = w.ok as f64 / w.secs;
        // Every 2xx is a durable booking of its own slot: the journal holds
        // exactly that many new bookings.
        let rows_w = journal_rows(&data, wrk_from, u64::MAX);
        let booked = rows_w
            .iter()
            .flat_map(|e| &e.events)
            .filter(|ev| ev.name() == "appointment_booked")
            .count();
        let wrk_2xx = w.responses - w.non_2xx;
        println!(
            "server, wrk ({WRK_THREADS} threads, {CLIENTS} connections, own process): {} durable bookings in {:.2} s = {wrate:.0}/s (mean group commit {mean_w} commands); {} refused; wrk: {} responses, {wrk_2xx} 2xx; journal: {booked} new appointment_booked",
            w.ok, w.secs, w.failed, w.responses
        );
        assert_eq!(
            booked, w.ok,
            "journal bookings == 2xx counted by the script"
        );
        assert_eq!(booked, wrk_2xx, "journal bookings == wrk's 2xx");
        let raw_post = raw_sqlite(&bench_dir("durable-raw-wrk"), &rows_w, mean_w);
        let raw_w = (raw_pre + raw_post) / 2.0;
        println!(
            "raw SQLite, same {} rows in {mean_w}-row transactions: {raw_post:.0} rows/s ({raw_pre:.0} just before wrk, in-process rows in {mean}-row transactions); ratio server / raw with wrk: {:.2}",
            rows_w.len(),
            wrate / raw_w
        );
        wrk_line = Some((wrate, mean_w, raw_w, raw_pre, raw_post));
        wrk_json = json!({"threads": WRK_THREADS, "connections": CLIENTS, "bookings": w.ok,
            "refused": w.failed, "seconds": w.secs, "rate": wrate, "mean_batch": mean_w,
            "raw_rate": raw_w, "raw_rate_before": raw_pre, "raw_rate_after": raw_post,
            "ratio": wrate / raw_w, "journal_bookings": booked});

        // 2b. The same through `POST /v1/batch`, as an agency importing
        // bookings would: WRK_BATCH bookings of one clerk per request.
        let from = journal_rows(&data, 0, u64::MAX).len() as u64;
        let before = batch_totals(&base).await;
        let jobs = booking_jobs(
            &wrk_slots[WRK_BOOKINGS..],
            spec.beneficiaries,
            n + open_max + WRK_BOOKINGS,
        );
        let w = run_wrk(
            &wrk,
            &dir.join("wrk-batch"),
            &base,
            &tokens,
            &jobs,
            WRK_BATCH_CONNECTIONS,
            WRK_BATCH,
        )
        .await;
        let mean_b = mean_batch(before, batch_totals(&base).await);
        let brate = w.ok as f64 / w.secs;
        let rows_b = journal_rows(&data, from, u64::MAX);
        let booked = rows_b
            .iter()
            .flat_map(|e| &e.events)
            .filter(|ev| ev.name() == "appointment_booked")
            .count();
        println!(
            "server, wrk with POST /v1/batch ({WRK_BATCH} bookings a request, {WRK_BATCH_CONNECTIONS} connections): {} durable bookings in {:.2} s = {brate:.0}/s (mean group commit {mean_b} commands); {} refused; wrk: {} responses; journal: {booked} new appointment_booked",
            w.ok, w.secs, w.failed, w.responses
        );
        assert_eq!(booked, w.ok, "journal bookings == answers with status 200");
        let raw_b = raw_sqlite(&bench_dir("durable-raw-batch"), &rows_b, mean_b);
        println!(
            "raw SQLite, same {} rows in {mean_b}-row transactions: {raw_b:.0} rows/s; ratio: {:.2}",
            rows_b.len(),
            brate / raw_b
        );
        batch_line = Some((brate, mean_b, raw_b));
        wrk_json["batch"] = json!({"per_request": WRK_BATCH, "connections": WRK_BATCH_CONNECTIONS,
            "bookings": w.ok, "refused": w.failed, "seconds": w.secs, "rate": brate,
            "mean_batch": mean_b, "raw_rate": raw_b, "ratio": brate / raw_b});
    }

    // 3. p50/p99 at half the in-process rate, open loop: requests are sent
    // on a fixed schedule whatever the answers, and latency counts from the
    // scheduled time.
    let target = rate / 2.0;
    let secs_open = 10.0;
    let count = (target * secs_open) as usize;
    let open_jobs = booking_jobs(&all[n..n + count.min(open_max)], spec.beneficiaries, n);
    let interval = std::time::Duration::from_secs_f64(1.0 / target);
    let t0 = tokio::time::Instant::now();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    // At most this many requests in flight: a client and a server socket
    // each, in this one process, must stay under the file limit. A request
    // that waits for a slot still counts its latency from its scheduled time.
    let in_flight = Arc::new(tokio::sync::Semaphore::new(1024));
    let mut handles = Vec::with_capacity(open_jobs.len());
    for (i, job) in open_jobs.into_iter().enumerate() {
        let at = t0 + interval * i as u32;
        let (http, base, token) = (http.clone(), base.clone(), tokens[job.token].clone());
        let in_flight = in_flight.clone();
        handles.push(tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let _permit = in_flight.acquire_owned().await.unwrap();
            let r = http
                .post(format!("{base}{}", job.path))
                .bearer_auth(token)
                .json(&job.body)
                .send()
                .await
                .unwrap();
            let ok = r.status().as_u16() == 200;
            let _ = r.bytes().await;
            (ok, at.elapsed().as_secs_f64())
        }));
    }
    let mut lat = Vec::new();
    for h in handles {
        let (ok, l) = h.await.unwrap();
        if ok {
            lat.push(l);
        }
    }
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
            * 1e3
    };
    let (p50, p99) = (pct(0.50), pct(0.99));
    println!(
        "open loop at {target:.0}/s for {secs_open} s: p50 {p50:.2} ms, p99 {p99:.2} ms ({} ok)",
        lat.len()
    );
    running.stop().await.unwrap();

    let raw_single = raw_sqlite(
        &bench_dir("durable-single"),
        &rows[..rows.len().min(300)],
        1,
    );
    println!(
        "\n| load | server bookings/s | mean group commit | raw SQLite rows/s, same rows and transaction size | ratio |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| {CLIENTS} in-process clients (reqwest) | {rate:.0} | {mean} | {raw:.0} | {:.2} |",
        rate / raw
    );
    if let Some((wrate, mean_w, raw_w, raw_pre, raw_post)) = wrk_line {
        println!(
            "| wrk, own process, {CLIENTS} connections | {wrate:.0} | {mean_w} | {raw_w:.0} (mean of {raw_pre:.0} before, {raw_post:.0} after) | {:.2} |",
            wrate / raw_w
        );
    }
    if let Some((brate, mean_b, raw_b)) = batch_line {
        println!(
            "| wrk, POST /v1/batch, {WRK_BATCH} bookings a request, {WRK_BATCH_CONNECTIONS} connections | {brate:.0} | {mean_b} | {raw_b:.0} | {:.2} |",
            brate / raw_b
        );
    }
    println!("raw SQLite, 1-row transactions: {raw_single:.0} rows/s");
    results.insert(
        "durable".into(),
        json!({"clients": CLIENTS, "bookings": ok, "seconds": secs, "rate": rate, "mean_batch": mean,
               "raw_rate": raw, "raw_single_row_rate": raw_single, "ratio": rate / raw,
               "open_loop_rate": target, "p50_ms": p50, "p99_ms": p99, "wrk": wrk_json}),
    );
}

async fn national(results: &mut serde_json::Map<String, Value>) {
    const BOOKINGS: usize = 400_000;
    const REFERRALS: usize = 12_500; // × 4 transitions = 50,000
    println!(
        "\n## national day: {BOOKINGS} bookings + {} referral transitions",
        REFERRALS * 4
    );
    let dir = bench_dir("national");
    let data = dir.join("data");
    let spec = spec(450, 50_000);
    prepare(&data, &spec, |_| Vec::new());
    let tokens = clerk_tokens(&data, &spec);
    // Referral actors: clinicians at the first 50 clinics, coordinators at
    // every second-level hospital.
    let reg = Registry::open(&data).unwrap();
    let clinicians: Vec<String> = (0..50)
        .map(|f| {
            let a = Actor::new(
                "bench.md",
                synth::CLINIC_AGENCY,
                Some(&synth::facility_id(f)),
                Role::Clinician,
            );
            reg.create_token("demo", &a, "bench").unwrap().1
        })
        .collect();
    let mut coordinators: HashMap<String, String> = HashMap::new();
    for f in spec.tier1..spec.tier1 + spec.tier2 {
        let id = synth::facility_id(f);
        let a = Actor::new(
            "bench.coord",
            synth::HOSPITAL_AGENCY,
            Some(&id),
            Role::Coordinator,
        );
        coordinators.insert(id, reg.create_token("demo", &a, "bench").unwrap().1);
    }
    let all = slots(&spec, BOOKINGS);
    assert_eq!(all.len(), BOOKINGS, "enough slots");
    let (running, _) = start_server(&data).await;
    let base = format!("http://{}", running.addr);
    let t0 = Instant::now();
    let jobs = Arc::new(booking_jobs(&all, spec.beneficiaries, 0));
    let booking_run = tokio::spawn({
        let (base, tokens) = (base.clone(), tokens.clone());
        async move { closed_loop(&base, &tokens, jobs).await }
    });
    // Referrals run alongside: each of 16 workers walks its referrals
    // through create → receive → accept → close.
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..16usize {
        let (base, clinicians, coordinators, done) = (
            base.clone(),
            clinicians.clone(),
            coordinators.clone(),
            done.clone(),
        );
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let post = |path: String, token: String, body: Value| {
                let http = http.clone();
                let base = base.clone();
                async move {
                    let r = http.post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.unwrap();
                    let s = r.status().as_u16();
                    (s, r.json::<Value>().await.unwrap_or(Value::Null))
                }
            };
            for i in (w..REFERRALS).step_by(16) {
                let clinic = &clinicians[i % clinicians.len()];
                let body = json!({"beneficiary": synth::beneficiary_id((i % 50_000) as u32), "service": "obs-hr",
                                  "destination": {"tier": 2}, "priority": "routine",
                                  "reason": {"icd10": ["O14.1"], "text": "Pre-eclampsia"}});
                let (s, v) = post("/v1/referrals".into(), clinic.clone(), body).await;
                if s != 200 {
                    continue;
                }
                done.fetch_add(1, Ordering::Relaxed);
                let id = v["events"][0]["referral"].as_u64().unwrap();
                let dest = v["events"][0]["destination"].as_str().unwrap().to_owned();
                let coord = coordinators[&dest].clone();
                for (step, body) in [("receive", json!({})), ("accept", json!({"note": "ok"})), ("close", json!({"reason": "resolved at origin"}))] {
                    let (s, _) = post(format!("/v1/referrals/{id}/{step}"), coord.clone(), body).await;
                    if s == 200 {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let referral_secs = t0.elapsed().as_secs_f64();
    let (booked, _) = booking_run.await.unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let transitions = done.load(Ordering::Relaxed);
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let entries = metric(&metrics, "enlace_journal_entries{tenant=\"demo\"}");
    running.stop().await.unwrap();
    println!(
        "{booked} bookings and {transitions} referral transitions durable in {secs:.1} s ({:.0} commands/s; referrals done after {referral_secs:.1} s); journal {entries} entries",
        (booked + transitions) as f64 / secs
    );
    results.insert(
        "national".into(),
        json!({"bookings": booked, "referral_transitions": transitions, "seconds": secs,
               "commands_per_second": (booked + transitions) as f64 / secs, "journal_entries": entries}),
    );
}

fn cold(results: &mut serde_json::Map<String, Value>) {
    const EVENTS: u64 = 1_000_000;
    println!("\n## cold start with a {EVENTS}-event journal");
    let dir = bench_dir("cold");
    let data = dir.join("data");
    let spec = spec(450, 20_000);
    let t0 = Instant::now();
    let entries = prepare(&data, &spec, |engine| {
        // Bookings (one event each) until the journal holds a million
        // events, the reference data's included.
        let mut out = Vec::new();
        let mut events: u64 = engine.seq().unwrap();
        let all = slots(&spec, EVENTS as usize);
        for (i, (agenda, f, start)) in all.iter().enumerate() {
            if events >= EVENTS {
                break;
            }
            let req = Request {
                actor: clerk(*f),
                at: spec.start,
                key: None,
                command: Command::BookAppointment {
                    agenda: agenda.clone(),
                    start: *start,
                    beneficiary: synth::beneficiary_id((i % 20_000) as u32),
                    follow_up_of: None,
                    overbook: false,
                },
            };
            if let Ok(Ok(ex)) = engine.execute(&req) {
                events += ex.outcome.events.len() as u64;
                out.extend(ex.entry);
            }
        }
        out
    });
    let conn = enlace_host::journal::open_reader(&enlace_host::tenant::journal_path(&data, "demo"))
        .unwrap();
    let all = enlace_host::journal::read_after(&conn, 0, u64::MAX).unwrap();
    let events: usize = all.iter().map(|e| e.events.len()).sum();
    println!(
        "journal: {entries} entries, {events} events (prepared in {:.1} s)",
        t0.elapsed().as_secs_f64()
    );
    // Verifying the journal file: one thread reading, parsing and hashing
    // page by page (as before), against `journal::verify_file` (a reader
    // thread parses while the caller hashes), side by side.
    let journal_file = enlace_host::tenant::journal_path(&data, "demo");
    let t = Instant::now();
    let mut one = enlace_core::Verifier::new();
    let mut after = 0;
    loop {
        let page = enlace_host::journal::read_after(&conn, after, 2_000).unwrap();
        let Some(end) = page.last().map(|e| e.seq) else {
            break;
        };
        assert!(one.feed(&page));
        after = end;
    }
    let one = (one.finish(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let two = enlace_host::journal::verify_file(&journal_file, None, |_| {}).unwrap();
    let two = (two, t.elapsed().as_secs_f64());
    assert_eq!(one.0, two.0);
    assert!(two.0.broken.is_none());
    println!(
        "verify the journal file: one thread {:.2} s ({:.0} events/s); verify_file on two threads {:.2} s ({:.0} events/s); {:.2}x",
        one.1,
        events as f64 / one.1,
        two.1,
        events as f64 / two.1,
        one.1 / two.1
    );
    results.insert(
        "verify_file".into(),
        json!({"events": events, "seconds_one_thread": one.1, "seconds_two_threads": two.1}),
    );
    // The worst case under the default configuration: the newest snapshot
    // is `snapshot_every` entries behind the journal (made here natively,
    // in the format the component reads: set-up, not measured).
    let tail = Config::default().snapshot_every as usize;
    let cut = all.len() - tail.min(all.len());
    let journal_path = enlace_host::tenant::journal_path(&data, "demo");
    let snap_path = enlace_host::snapshot::path_beside(&journal_path);
    {
        let engine = enlace_core::Engine::from_entries(all[..cut].to_vec()).unwrap();
        let vis = enlace_core::visibility::Visibility::from_entries(&all[..cut]);
        let mut store = enlace_host::snapshot::SnapshotStore::open(&snap_path).unwrap();
        store
            .save(&enlace_host::snapshot::Snapshot {
                seq: cut as u64,
                head: all[cut - 1].hash.clone(),
                engine: engine.snapshot(),
                visibility: vis.snapshot(),
            })
            .unwrap();
    }
    drop(all);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let start = |what: &str| {
        let (running, secs) = rt.block_on(start_server(&data));
        let tenants = running.tenants.clone();
        rt.block_on(running.stop()).unwrap();
        let stats = &tenants.get("demo").unwrap().writer.shared.stats;
        let bytes = stats.snapshot_bytes.load(Ordering::Relaxed);
        let took = stats.snapshot_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let wrote = if bytes == 0 {
            "nothing new to snapshot at the stop".to_owned()
        } else {
            format!(
                "the stop then wrote a {:.1} MB snapshot (in {took:.2} s, on the snapshot thread)",
                bytes as f64 / 1e6
            )
        };
        println!(
            "start-up {what}: {secs:.2} s (target <= 2 s: {:.2}x); {wrote}",
            secs / 2.0
        );
        secs
    };
    let with_tail = start(&format!("from a snapshot {tail} entries behind"));
    let from_final = start("from the snapshot the graceful stop wrote");
    std::fs::remove_file(&snap_path).unwrap();
    let _ = std::fs::remove_file(snap_path.with_extension("sqlite-wal"));
    let _ = std::fs::remove_file(snap_path.with_extension("sqlite-shm"));
    let replay = start("replaying the whole journal (no snapshot)");
    results.insert(
        "cold".into(),
        json!({"entries": entries, "events": events, "snapshot_tail": tail,
               "seconds_snapshot_tail": with_tail, "seconds_final_snapshot": from_final,
               "seconds_full_replay": replay}),
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |s: &str| args.is_empty() || args.iter().any(|a| a == s || a == "all");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("ENLACE_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
    let mut results = serde_json::Map::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    if want("durable") {
        rt.block_on(durable(&mut results));
    }
    if want("national") {
        rt.block_on(national(&mut results));
    }
    drop(rt);
    if want("cold") {
        cold(&mut results);
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-host/results.json");
    let _ = std::fs::write(
        &out,
        serde_json::to_string_pretty(&Value::Object(results)).unwrap(),
    );
    println!("\nresults: {}", out.display());
}
