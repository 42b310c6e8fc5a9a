//! Prometheus metrics in the text exposition format, kept in atomics so that
//! recording a request costs a few relaxed adds.
//!
//! - `enlace_http_requests_total{route,status}` and
//!   `enlace_http_request_duration_seconds{route}` (histogram) per route;
//! - `enlace_commit_batch_size{tenant}` (histogram), `enlace_commits_total`,
//!   `enlace_commit_failures_total`, `enlace_commit_seconds_total`;
//! - `enlace_journal_entries{tenant}`, `enlace_engine_traps_total`,
//!   `enlace_engine_rebuilds_total`, `enlace_engine_held_entries`,
//!   `enlace_tenant_healthy`;
//! - `enlace_snapshot_seq`, `enlace_snapshots_total`,
//!   `enlace_snapshot_failures_total`, `enlace_snapshot_bytes`,
//!   `enlace_snapshot_seconds`.

use crate::commit::BATCH_BUCKETS;
use crate::tenant::Tenants;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Latency histogram bounds, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// HTTP status classes counted per route.
const STATUSES: [u16; 12] = [200, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503];

/// Counters of one route.
#[derive(Debug)]
pub struct RouteMetrics {
    name: String,
    by_status: [AtomicU64; STATUSES.len() + 1],
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_micros: AtomicU64,
}

impl RouteMetrics {
    fn new(name: String) -> Self {
        RouteMetrics {
            name,
            by_status: Default::default(),
            latency: Default::default(),
            latency_micros: AtomicU64::new(0),
        }
    }

    /// Records one request.
    pub fn observe(&self, status: u16, elapsed: std::time::Duration) {
        let i = STATUSES
            .iter()
            .position(|&s| s == status)
            .unwrap_or(STATUSES.len());
        self.by_status[i].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        let b = LATENCY_BUCKETS
            .iter()
            .position(|&l| secs <= l)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[b].fetch_add(1, Ordering::Relaxed);
        self.latency_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

/// All request metrics: one entry per route, plus one for everything else.
#[derive(Debug)]
pub struct Metrics {
    routes: Vec<RouteMetrics>,
}

impl Metrics {
    /// Metrics for routes named `names` (by index), plus `other`.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        let mut routes: Vec<RouteMetrics> = names.into_iter().map(RouteMetrics::new).collect();
        routes.push(RouteMetrics::new("other".into()));
        Metrics { routes }
    }

    /// The metrics of route `i`, or of `other`.
    pub fn route(&self, i: Option<usize>) -> &RouteMetrics {
        let last = self.routes.len() - 1;
        &self.routes[i.unwrap_or(last).min(last)]
    }

    /// Renders every metric.
    pub fn render(&self, tenants: &Tenants) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let _ = self.render_into(&mut out, tenants);
        out
    }

    fn render_into(&self, out: &mut String, tenants: &Tenants) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP enlace_http_requests_total HTTP requests by route and status."
        )?;
        writeln!(out, "# TYPE enlace_http_requests_total counter")?;
        for r in &self.routes {
            for (i, c) in r.by_status.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n == 0 {
                    continue;
                }
                let status = STATUSES.get(i).map_or("other".to_owned(), u16::to_string);
                writeln!(
                    out,
                    "enlace_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    r.name
                )?;
            }
        }
        writeln!(
            out,
            "# HELP enlace_http_request_duration_seconds Request latency by route."
        )?;
        writeln!(out, "# TYPE enlace_http_request_duration_seconds histogram")?;
        for r in &self.routes {
            let total: u64 = r.latency.iter().map(|c| c.load(Ordering::Relaxed)).sum();
            if total == 0 {
                continue;
            }
            let mut acc = 0;
            for (i, c) in r.latency.iter().enumerate() {
                acc += c.load(Ordering::Relaxed);
                let le = LATENCY_BUCKETS
                    .get(i)
                    .map_or("+Inf".to_owned(), |b| b.to_string());
                writeln!(
                    out,
                    "enlace_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{le}\"}} {acc}",
                    r.name
                )?;
            }
            let sum = r.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
            writeln!(
                out,
                "enlace_http_request_duration_seconds_sum{{route=\"{}\"}} {sum}",
                r.name
            )?;
            writeln!(
                out,
                "enlace_http_request_duration_seconds_count{{route=\"{}\"}} {total}",
                r.name
            )?;
        }
        type Read = fn(&crate::commit::WriterStats) -> f64;
        let gauges: [(&str, &str, &str, Read); 12] = [
            (
                "enlace_journal_entries",
                "gauge",
                "Entries in the tenant's durable journal.",
                |s| s.journal_len.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_commits_total",
                "counter",
                "Group commits (transactions) written.",
                |s| s.commits.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_commit_failures_total",
                "counter",
                "Group commits that failed; none of their commands was acknowledged.",
                |s| s.commit_failures.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_commit_seconds_total",
                "counter",
                "Time spent committing (including fsync).",
                |s| s.commit_micros.load(Ordering::Relaxed) as f64 / 1e6,
            ),
            (
                "enlace_engine_traps_total",
                "counter",
                "Engine traps (each answered 500 and followed by a rebuild).",
                |s| s.traps.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_engine_rebuilds_total",
                "counter",
                "Engine instances rebuilt from the latest snapshot and the journal.",
                |s| s.rebuilds.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_engine_held_entries",
                "gauge",
                "Journal entries the engine instance holds in memory (those after its base).",
                |s| s.held.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_snapshot_seq",
                "gauge",
                "Seq of the newest durable snapshot (0: none).",
                |s| s.snapshot_seq.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_snapshots_total",
                "counter",
                "Snapshots written.",
                |s| s.snapshots.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_snapshot_failures_total",
                "counter",
                "Snapshots that could not be taken or written (start-up then replays more).",
                |s| s.snapshot_failures.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_snapshot_bytes",
                "gauge",
                "Size of the newest snapshot (engine and feed index).",
                |s| s.snapshot_bytes.load(Ordering::Relaxed) as f64,
            ),
            (
                "enlace_snapshot_seconds",
                "gauge",
                "How long the snapshot thread took to serialize and write the newest snapshot (the writer never waits for it).",
                |s| s.snapshot_micros.load(Ordering::Relaxed) as f64 / 1e6,
            ),
        ];
        for (name, kind, help, read) in gauges {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} {kind}")?;
            for t in tenants.iter() {
                let v = read(&t.writer.shared.stats);
                writeln!(out, "{name}{{tenant=\"{}\"}} {v}", t.name)?;
            }
        }
        writeln!(
            out,
            "# HELP enlace_tenant_healthy 1 when the tenant serves, 0 when its journal failed to load."
        )?;
        writeln!(out, "# TYPE enlace_tenant_healthy gauge")?;
        for t in tenants.iter() {
            let h = t.writer.shared.stats.healthy.load(Ordering::Relaxed);
            writeln!(
                out,
                "enlace_tenant_healthy{{tenant=\"{}\"}} {}",
                t.name,
                u8::from(h)
            )?;
        }
        writeln!(
            out,
            "# HELP enlace_commit_batch_size Commands per group commit."
        )?;
        writeln!(out, "# TYPE enlace_commit_batch_size histogram")?;
        for t in tenants.iter() {
            let s = &t.writer.shared.stats;
            let mut acc = 0;
            for (i, c) in s.batch_sizes.iter().enumerate() {
                acc += c.load(Ordering::Relaxed);
                let le = BATCH_BUCKETS
                    .get(i)
                    .map_or("+Inf".to_owned(), u64::to_string);
                writeln!(
                    out,
                    "enlace_commit_batch_size_bucket{{tenant=\"{}\",le=\"{le}\"}} {acc}",
                    t.name
                )?;
            }
            writeln!(
                out,
                "enlace_commit_batch_size_sum{{tenant=\"{}\"}} {}",
                t.name,
                s.batch_commands.load(Ordering::Relaxed)
            )?;
            writeln!(
                out,
                "enlace_commit_batch_size_count{{tenant=\"{}\"}} {acc}",
                t.name
            )?;
        }
        Ok(())
    }
}
