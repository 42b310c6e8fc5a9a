//! Benchmarks of enlace-core on the regional network of issues 2 and 3.
//!
//! `cargo bench -p enlace-core --bench engine` builds the network of
//! [`Spec::regional`] once (500 facilities, 5,000 agendas, 120-day horizon,
//! 15-minute slots), fills it with 1,000,000 booked appointments and 100,000
//! referrals in every state, then measures each target of the issues and
//! prints a table `metric | figure | target | ratio | met?`. Criterion then
//! cross-checks the three query latencies with its own statistics.
//!
//! A plain `main` measures most figures because the targets are percentiles
//! (p50), throughputs and memory, which Criterion does not report directly.
//!
//! Environment:
//! - `ENLACE_BENCH_SCALE=0.01` scales appointments, referrals, open referrals
//!   and beneficiaries (the shape of the network stays) for a quick run;
//! - `ENLACE_BENCH_CRITERION=0` skips the Criterion cross-check;
//! - `ENLACE_BENCH_ONLY=replay,queries,audit,book` runs only those parts
//!   (for profiling).
//!
//! Run without `--bench` (as `cargo test --benches` does), it runs once at a
//! tiny scale as a functional check and times nothing that matters.

#[path = "../tests/common/chrono_text.rs"]
mod chrono_text;

use cap::Cap;
use chrono::{DateTime, Duration, Utc};
use criterion::Criterion;
use enlace_core::actor::{Actor, Role};
use enlace_core::facility::Tier;
use enlace_core::journal::{Entry, Held, join_parts, parts, verify_part};
use enlace_core::priority::Priority;
use enlace_core::query::{Answer, query};
use enlace_core::referral::{
    Attachment, CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination,
    FollowUpRequest, ReferralStatus, RejectReason,
};
use enlace_core::synth::{self, CLINIC_AGENCY, HOSPITAL_AGENCY, Rng, Spec};
use enlace_core::{Command, Error, Meta, Query, Request, State, decide, verify};
use std::alloc::System;
use std::collections::HashSet;
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Instant;

/// Counts live heap bytes, so the state's memory can be measured exactly.
#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// The network every measurement reads, built once.
static NETWORK: OnceLock<Network> = OnceLock::new();

/// How big a run is: 1.0 is the issues' network.
#[derive(Debug, Clone, Copy)]
struct Size {
    scale: f64,
    appointments: usize,
    referrals: usize,
    /// Open referrals at the hot tier-2 hospital.
    hot_open: usize,
    /// Closed referrals in the hot hospital's history.
    hot_closed: usize,
    beneficiaries: u32,
    /// Iterations of each latency measurement.
    iterations: usize,
    /// Bookings timed for the throughput figure.
    bookings: usize,
}

impl Size {
    fn new(scale: f64) -> Self {
        let n = |full: f64, floor: f64| (full * scale).max(floor).round() as usize;
        Size {
            scale,
            appointments: n(1_000_000.0, 100.0),
            referrals: n(100_000.0, 60.0),
            hot_open: n(10_000.0, 10.0),
            hot_closed: n(2_000.0, 5.0),
            beneficiaries: n(200_000.0, 1_000.0) as u32,
            iterations: n(3_000.0, 50.0).min(3_000),
            bookings: n(200_000.0, 100.0),
        }
    }
}

/// The built network: live state, its journal, and what the benchmarks need.
struct Network {
    spec: Spec,
    size: Size,
    state: State,
    journal: Vec<Entry>,
    /// Entries of reference data (network, services, facilities, agendas,
    /// agreement, beneficiaries) at the head of the journal.
    reference_entries: usize,
    /// Entries of the appointment fill, right after the reference data.
    booking_entries: usize,
    /// Booking requests refused during the fill (slot taken, double booking).
    refused: usize,
    build_seconds: f64,
    /// The generator's state after the fill: later bookings continue it.
    rng: Rng,
    /// The tier-2 hospital holding the big worklist.
    hot: String,
    /// The instant the queries are asked at (after every referral step).
    now: DateTime<Utc>,
    /// Worklist and routing p50 (µs) measured on the generator's thread,
    /// whose heap the build left full of freed chunks.
    generator_heap: (f64, f64),
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("entries", &self.journal.len())
            .field("appointments", &self.state.appointment_count())
            .field("referrals", &self.state.referral_count())
            .finish()
    }
}

/// State plus journal, filled through the same path as the engine:
/// `decide`, a hash-chained entry, `State::apply_entry`.
struct Builder {
    state: State,
    journal: Vec<Entry>,
}

impl Builder {
    fn exec(&mut self, actor: &Actor, at: DateTime<Utc>, command: Command) -> Result<(), Error> {
        let events = decide(&self.state, actor, &command, at)?;
        let mut entry = Entry {
            seq: self.state.seq() + 1,
            at,
            actor: actor.clone(),
            command: command.name().to_owned(),
            key: None,
            digest: None,
            events,
            hash: String::new(),
        };
        entry.hash = entry.compute_hash(self.state.head());
        self.state.apply_entry(&entry);
        self.journal.push(entry);
        Ok(())
    }

    fn must(&mut self, actor: &Actor, at: DateTime<Utc>, command: Command) {
        let name = command.name();
        if let Err(e) = self.exec(actor, at, command) {
            panic!("{name} by {} refused: {e}", actor.user);
        }
    }
}

// --- the referral workload ----------------------------------------------------

/// Where a generated referral ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Requested,
    Received,
    Accepted,
    Scheduled,
    InProgress,
    CounterReferred,
    Completed,
    Rejected,
    CancelledEarly,
    CancelledScheduled,
    Redirected,
    Escalated,
    NoShowClosed,
    NoShowRebooked,
}

impl Fate {
    fn pick(rng: &mut Rng, table: &[(Fate, u64)]) -> Fate {
        let total: u64 = table.iter().map(|t| t.1).sum();
        let mut x = rng.below(total);
        for &(f, w) in table {
            if x < w {
                return f;
            }
            x -= w;
        }
        table[0].0
    }

    fn accepted_first(self) -> bool {
        use Fate::*;
        matches!(
            self,
            Accepted
                | Scheduled
                | InProgress
                | CounterReferred
                | Completed
                | CancelledScheduled
                | NoShowClosed
                | NoShowRebooked
        )
    }

    /// Scheduled and then seen (or missed): these take the earliest places.
    fn arrives(self) -> bool {
        use Fate::*;
        matches!(
            self,
            InProgress | CounterReferred | Completed | NoShowClosed | NoShowRebooked
        )
    }

    fn scheduled(self) -> bool {
        self.arrives() || matches!(self, Fate::Scheduled | Fate::CancelledScheduled)
    }
}

/// Every referral outside the hot hospital: all states of the loop.
const SPREAD: [(Fate, u64); 14] = [
    (Fate::Requested, 8),
    (Fate::Received, 5),
    (Fate::Accepted, 8),
    (Fate::Scheduled, 10),
    (Fate::InProgress, 5),
    (Fate::CounterReferred, 8),
    (Fate::Completed, 30),
    (Fate::Rejected, 8),
    (Fate::CancelledEarly, 4),
    (Fate::CancelledScheduled, 2),
    (Fate::Redirected, 4),
    (Fate::Escalated, 3),
    (Fate::NoShowClosed, 3),
    (Fate::NoShowRebooked, 2),
];
/// The hot hospital's open referrals (all stay on its worklist).
const HOT_OPEN: [(Fate, u64); 5] = [
    (Fate::Requested, 30),
    (Fate::Received, 15),
    (Fate::Accepted, 25),
    (Fate::Scheduled, 20),
    (Fate::InProgress, 10),
];
/// The hot hospital's history (none on its worklist).
const HOT_CLOSED: [(Fate, u64); 5] = [
    (Fate::Completed, 60),
    (Fate::Rejected, 15),
    (Fate::CancelledEarly, 10),
    (Fate::NoShowClosed, 5),
    (Fate::CounterReferred, 10),
];

#[derive(Debug)]
struct Plan {
    id: u32,
    fate: Fate,
    origin: String,
    appointment: u32,
}

fn clinician(facility: &str, agency: &str) -> Actor {
    Actor::new("dra.bench", agency, Some(facility), Role::Clinician)
}

fn coordinator(facility: &str) -> Actor {
    Actor::new(
        "coord.bench",
        HOSPITAL_AGENCY,
        Some(facility),
        Role::Coordinator,
    )
}

/// The earliest referral place for referral `id` at its destination, booked.
fn schedule(b: &mut Builder, id: u32, at: DateTime<Utc>) -> u32 {
    let r = b.state.referral(id).expect("referral exists");
    let (dest, service) = (r.destination.clone(), r.service.clone());
    let who = coordinator(&dest);
    let q = Query::FreeSlots {
        service,
        region: None,
        tier: None,
        facilities: vec![dest.clone()],
        from: at,
        to: at + Duration::days(365),
        limit: 8,
        for_referral: true,
    };
    let Ok(Answer::FreeSlots(slots)) = query(&b.state, Held::all(&b.journal), &who, &q, at) else {
        panic!("free-slot query for referral {id} failed");
    };
    for s in slots {
        let cmd = Command::ScheduleReferral {
            referral: id,
            agenda: s.agenda,
            start: s.start,
        };
        // A place can clash with the beneficiary's own appointment: try the next.
        if b.exec(&who, at, cmd).is_ok() {
            return b
                .state
                .referral(id)
                .and_then(|r| r.appointment)
                .unwrap_or(0);
        }
    }
    panic!("no referral place for referral {id} at {dest}");
}

fn counter_referral(rng: &mut Rng) -> CounterReferral {
    CounterReferral {
        summary: CareSummary {
            diagnoses: vec!["O14.1".into()],
            procedures: vec!["Sulfato de magnesio IV".into(), "Ecografía Doppler".into()],
            outcome: CareOutcome::Improved,
            text: "Presión arterial controlada; feto con crecimiento adecuado.".into(),
        },
        instructions: "Control de presión arterial semanal; signos de alarma explicados.".into(),
        follow_up: (rng.below(2) == 0).then(|| FollowUpRequest {
            service: "prenatal".into(),
            within_days: 7,
            note: String::new(),
        }),
    }
}

/// Creates the referrals and walks each to its fate, in rounds so that
/// time only moves forward in the journal. Returns the instant after the
/// last step.
fn referrals(b: &mut Builder, spec: &Spec, size: Size, rng: &mut Rng) -> DateTime<Utc> {
    let hot_idx = spec.tier1;
    let hospitals: Vec<u32> = (spec.tier1..spec.tier1 + spec.tier2 + spec.tier3)
        .filter(|&i| i != hot_idx)
        .collect();
    let tier2_others: Vec<u32> = (spec.tier1..spec.tier1 + spec.tier2)
        .filter(|&i| i != hot_idx)
        .collect();
    const ICD: [&str; 6] = ["O14.1", "O24.4", "O36.5", "O60.0", "O44.1", "O13"];
    const PRIORITIES: [(Priority, u64); 4] = [
        (Priority::Emergency, 5),
        (Priority::Urgent, 20),
        (Priority::Priority, 35),
        (Priority::Routine, 40),
    ];
    let mut plans = Vec::with_capacity(size.referrals);
    let mut t = spec.start + Duration::hours(1);
    // Round A: every referral is created by a clinician of a rural clinic.
    for i in 0..size.referrals {
        let (dest, fate) = if i < size.hot_open {
            (hot_idx, Fate::pick(rng, &HOT_OPEN))
        } else if i < size.hot_open + size.hot_closed {
            (hot_idx, Fate::pick(rng, &HOT_CLOSED))
        } else {
            let d = hospitals[rng.below(hospitals.len() as u64) as usize];
            (d, Fate::pick(rng, &SPREAD))
        };
        let third = synth::tier_of(spec, dest) == Tier::Third;
        let service = match (third, rng.below(20)) {
            (false, 0..12) | (true, 0..10) => "obs-hr",
            (false, 12..17) => "imaging",
            (false, _) => "cardio",
            (true, 10..16) => "maternal-fetal",
            (true, _) => "neonatal-icu",
        };
        let mut p = rng.below(100);
        let mut priority = Priority::Routine;
        for (pr, w) in PRIORITIES {
            if p < w {
                priority = pr;
                break;
            }
            p -= w;
        }
        let origin = synth::facility_id(rng.below(u64::from(spec.tier1)) as u32);
        let beneficiary =
            synth::beneficiary_id(rng.below(u64::from(spec.beneficiaries.max(1))) as u32);
        let attachments = if rng.below(4) == 0 {
            vec![Attachment {
                id: format!("doc-{i}"),
                media_type: "application/pdf".into(),
                title: "Ultrasonido obstétrico".into(),
            }]
        } else {
            Vec::new()
        };
        let who = clinician(&origin, CLINIC_AGENCY);
        b.must(
            &who,
            t,
            Command::CreateReferral {
                beneficiary,
                service: service.into(),
                destination: Destination::Facility(synth::facility_id(dest)),
                priority,
                reason: ClinicalReason {
                    icd10: vec![ICD[rng.below(ICD.len() as u64) as usize].into()],
                    text: "Embarazo de alto riesgo: referencia a segundo nivel".into(),
                },
                attachments,
            },
        );
        plans.push(Plan {
            id: b.state.referral_count() as u32,
            fate,
            origin,
            appointment: 0,
        });
        t += Duration::seconds(2);
    }
    // Round B: the destinations decide.
    t += Duration::hours(1);
    for p in &plans {
        let r = b.state.referral(p.id).expect("created");
        let dest = r.destination.clone();
        let service = r.service.clone();
        let boss = coordinator(&dest);
        match p.fate {
            Fate::Requested => continue,
            Fate::Received => b.must(&boss, t, Command::ReceiveReferral { referral: p.id }),
            f if f.accepted_first() => b.must(
                &boss,
                t,
                Command::AcceptReferral {
                    referral: p.id,
                    note: "Se acepta".into(),
                },
            ),
            Fate::Rejected => b.must(
                &boss,
                t,
                Command::RejectReferral {
                    referral: p.id,
                    reason: RejectReason::CriteriaNotMet,
                    text: "No cumple criterios de alto riesgo".into(),
                },
            ),
            Fate::CancelledEarly => b.must(
                &clinician(&p.origin, CLINIC_AGENCY),
                t,
                Command::CancelReferral {
                    referral: p.id,
                    reason: "La paciente se mudó".into(),
                },
            ),
            Fate::Redirected => {
                let mut to = dest.clone();
                while to == dest {
                    let k = rng.below(tier2_others.len() as u64) as usize;
                    to = synth::facility_id(tier2_others[k]);
                }
                // A third-level speciality has no second-level taker: it stays requested.
                if b.state
                    .facilities()
                    .iter()
                    .any(|f| f.id == to && f.offers(&service))
                {
                    b.must(
                        &boss,
                        t,
                        Command::RedirectReferral {
                            referral: p.id,
                            to: to.clone(),
                            reason: "Sin cupo en el servicio".into(),
                        },
                    );
                    b.must(
                        &coordinator(&to),
                        t,
                        Command::ReceiveReferral { referral: p.id },
                    );
                }
            }
            Fate::Escalated => {
                let here = b
                    .state
                    .facilities()
                    .iter()
                    .find(|f| f.id == dest)
                    .map(|f| f.tier);
                if here == Some(Tier::Second) {
                    b.must(
                        &boss,
                        t,
                        Command::EscalateReferral {
                            referral: p.id,
                            to: None,
                            reason: "Requiere tercer nivel".into(),
                        },
                    );
                    let to = b.state.referral(p.id).expect("exists").destination.clone();
                    b.must(
                        &coordinator(&to),
                        t,
                        Command::AcceptReferral {
                            referral: p.id,
                            note: String::new(),
                        },
                    );
                }
            }
            _ => unreachable!("every fate is handled"),
        }
        t += Duration::seconds(1);
    }
    // Round C: appointments; the ones that will be seen take the earliest places.
    t += Duration::hours(1);
    let mut last_arrival = t;
    for pass in [true, false] {
        for p in plans.iter_mut() {
            if p.fate.scheduled() && p.fate.arrives() == pass {
                p.appointment = schedule(b, p.id, t);
                if pass {
                    let r = b.state.referral(p.id).expect("exists");
                    if let Some(s) = r.first_appointment_start {
                        last_arrival = last_arrival.max(s);
                    }
                }
                t += Duration::seconds(1);
            }
        }
    }
    // Round D: once every one of those appointments has started, arrivals and no-shows.
    t = t.max(last_arrival) + Duration::hours(1);
    for p in plans.iter().filter(|p| p.fate.arrives()) {
        let dest = b.state.referral(p.id).expect("exists").destination.clone();
        let cmd = if matches!(p.fate, Fate::NoShowClosed | Fate::NoShowRebooked) {
            Command::MarkNoShow {
                appointment: p.appointment,
            }
        } else {
            Command::MarkArrived {
                appointment: p.appointment,
            }
        };
        b.must(&coordinator(&dest), t, cmd);
        t += Duration::seconds(1);
    }
    // Round E: counter-referrals, closures, rebookings and late cancellations.
    t += Duration::hours(1);
    for p in &plans {
        let dest = b.state.referral(p.id).expect("exists").destination.clone();
        match p.fate {
            Fate::CounterReferred | Fate::Completed => b.must(
                &clinician(&dest, HOSPITAL_AGENCY),
                t,
                Command::SendCounterReferral {
                    referral: p.id,
                    counter_referral: counter_referral(rng),
                },
            ),
            Fate::NoShowClosed => b.must(
                &coordinator(&dest),
                t,
                Command::CloseReferral {
                    referral: p.id,
                    reason: "No se localizó a la paciente".into(),
                },
            ),
            Fate::NoShowRebooked => {
                schedule(b, p.id, t);
            }
            Fate::CancelledScheduled => b.must(
                &clinician(&p.origin, CLINIC_AGENCY),
                t,
                Command::CancelReferral {
                    referral: p.id,
                    reason: "Atendida en otra institución".into(),
                },
            ),
            _ => continue,
        }
        t += Duration::seconds(1);
    }
    // Round F: the origins acknowledge; the loop closes.
    t += Duration::hours(1);
    for p in plans.iter().filter(|p| p.fate == Fate::Completed) {
        b.must(
            &clinician(&p.origin, CLINIC_AGENCY),
            t,
            Command::AcknowledgeCounterReferral { referral: p.id },
        );
        t += Duration::seconds(1);
    }
    t + Duration::hours(1)
}

fn build(size: Size) -> Network {
    let started = Instant::now();
    let spec = Spec {
        beneficiaries: size.beneficiaries,
        ..Spec::regional()
    };
    let mut b = Builder {
        state: State::new(),
        journal: Vec::new(),
    };
    for req in synth::reference(&spec) {
        b.must(&req.actor, req.at, req.command);
    }
    let reference_entries = b.journal.len();
    eprintln!(
        "  reference data: {reference_entries} entries ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    // The appointment fill: generated requests, refused ones skipped.
    let mut rng = Rng::new(spec.seed ^ 0x00b0_0c1e);
    let mut refused = 0;
    while b.state.appointment_count() < size.appointments {
        let req = synth::booking(&spec, &mut rng);
        if b.exec(&req.actor, req.at, req.command).is_err() {
            refused += 1;
        }
    }
    let booking_entries = b.journal.len() - reference_entries;
    eprintln!(
        "  {} appointments booked, {refused} requests refused ({:.1} s)",
        b.state.appointment_count(),
        started.elapsed().as_secs_f64()
    );
    let hot = synth::facility_id(spec.tier1);
    let now = referrals(&mut b, &spec, size, &mut rng);
    eprintln!(
        "  {} referrals, journal of {} entries ({:.1} s)",
        b.state.referral_count(),
        b.journal.len(),
        started.elapsed().as_secs_f64()
    );
    Network {
        spec,
        size,
        state: b.state,
        journal: b.journal,
        reference_entries,
        booking_entries,
        refused,
        build_seconds: started.elapsed().as_secs_f64(),
        rng,
        hot,
        now,
        generator_heap: (0.0, 0.0),
    }
}

/// Worklist and routing p50 on the calling thread (see `Network::generator_heap`).
fn allocation_sensitive_p50(net: &Network) -> (f64, f64) {
    let (s, j, now, n) = (&net.state, &net.journal[..], net.now, net.size.iterations);
    let boss = coordinator(&net.hot);
    let q = worklist_query(&net.hot);
    let w = latency(n, |_| {
        black_box(query(s, Held::all(j), &boss, black_box(&q), now).ok());
    });
    let doc = clinician(&synth::facility_id(1), CLINIC_AGENCY);
    let q = routing_query(7);
    let r = latency(n, |_| {
        black_box(query(s, Held::all(j), &doc, black_box(&q), now).ok());
    });
    (w.p50, r.p50)
}

// --- measurement helpers -------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Latency {
    p50: f64,
    p99: f64,
    mean: f64,
}

/// Times `f` alone, `n` times after a warm-up, in microseconds.
fn latency(n: usize, mut f: impl FnMut(usize)) -> Latency {
    for i in 0..n.div_ceil(10) {
        f(i);
    }
    let mut us: Vec<f64> = (0..n)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    us.sort_by(f64::total_cmp);
    let at = |q: f64| us[((us.len() - 1) as f64 * q).round() as usize];
    Latency {
        p50: at(0.5),
        p99: at(0.99),
        mean: us.iter().sum::<f64>() / us.len() as f64,
    }
}

/// Resident set size from `/proc/self/statm`, in bytes (0 where unavailable).
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// Whether a smaller or a larger figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    AtMost,
    AtLeast,
}

#[derive(Debug)]
struct Row {
    metric: String,
    figure: String,
    target: String,
    ratio: Option<f64>,
    met: Option<bool>,
}

#[derive(Debug, Default)]
struct Table {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Table {
    fn target(&mut self, metric: &str, value: f64, unit: &str, goal: Goal, target: f64) {
        let ratio = value / target;
        let met = match goal {
            Goal::AtMost => value <= target,
            Goal::AtLeast => value >= target,
        };
        let sign = if goal == Goal::AtMost { "≤" } else { "≥" };
        let row = Row {
            metric: metric.to_owned(),
            figure: format!("{} {unit}", fmt_num(value)),
            target: format!("{sign} {} {unit}", fmt_int(target as usize)),
            ratio: Some(ratio),
            met: Some(met),
        };
        eprintln!("  {} = {}", row.metric, row.figure);
        self.rows.push(row);
    }

    fn info(&mut self, metric: &str, figure: String) {
        eprintln!("  {metric} = {figure}");
        self.rows.push(Row {
            metric: metric.to_owned(),
            figure,
            target: "—".into(),
            ratio: None,
            met: None,
        });
    }

    fn print(&self, header: &str) {
        println!("\n{header}\n");
        println!("| metric | figure | target | ratio | met? |");
        println!("|---|---|---|---|---|");
        for r in &self.rows {
            let ratio = r.ratio.map_or("—".into(), |x| format!("{x:.3}"));
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            };
            println!(
                "| {} | {} | {} | {ratio} | {met} |",
                r.metric, r.figure, r.target
            );
        }
        println!();
        for n in &self.notes {
            println!("- {n}");
        }
    }
}

/// A count with thousands separators.
fn fmt_int(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_num(x: f64) -> String {
    if x >= 1_000.0 {
        fmt_int(x.round() as usize)
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

// --- the measurements ----------------------------------------------------------

/// Replay and memory, on a fresh state rebuilt from the journal. Returns the
/// replayed state for the booking measurement.
fn replay_and_memory(net: &Network, table: &mut Table) -> State {
    let j = &net.journal;
    let (refs, books) = (net.reference_entries, net.booking_entries);
    let alloc0 = ALLOC.allocated();
    let mut fresh = State::new();
    let t = Instant::now();
    for e in &j[..refs] {
        fresh.apply_entry(e);
    }
    let head = t.elapsed().as_secs_f64();
    let (alloc1, rss1) = (ALLOC.allocated(), rss());
    let t = Instant::now();
    for e in &j[refs..refs + books] {
        fresh.apply_entry(e);
    }
    let secs = t.elapsed().as_secs_f64();
    let (alloc2, rss2) = (ALLOC.allocated(), rss());
    let booked = fresh.appointment_count();
    let events: usize = j[refs..refs + books].iter().map(|e| e.events.len()).sum();
    // The target is for 1,000,000 events; scaled runs are scaled up linearly.
    table.target(
        "replay of 1,000,000 events (appointment_booked) into a fresh state",
        secs * 1e6 / events as f64,
        "s",
        Goal::AtMost,
        1.0,
    );
    let t = Instant::now();
    for e in &j[refs + books..] {
        fresh.apply_entry(e);
    }
    let tail = t.elapsed().as_secs_f64();
    let all_events: usize = j.iter().map(|e| e.events.len()).sum();
    // The three parts were replayed in order into the same state.
    let whole_secs = head + secs + tail;
    table.info(
        "replay of the whole journal (reference data, bookings, referrals)",
        format!(
            "{} entries, {} events in {:.2} s = {} events/s",
            fmt_int(j.len()),
            fmt_int(all_events),
            whole_secs,
            fmt_num(all_events as f64 / whole_secs)
        ),
    );
    let ref_tail: usize = j[refs + books..].iter().map(|e| e.events.len()).sum();
    table.info(
        "replay of the referral events alone",
        format!(
            "{} events in {:.3} s = {} events/s",
            fmt_int(ref_tail),
            tail,
            fmt_num(ref_tail as f64 / tail)
        ),
    );
    let per = (alloc2 - alloc1) as f64 / booked as f64;
    table.target(
        "state memory per booked appointment (live heap bytes, minus reference data)",
        per,
        "B",
        Goal::AtMost,
        200.0,
    );
    table.info(
        "whole state per booked appointment (live heap incl. reference data, before referrals)",
        format!("{:.0} B", (alloc2 - alloc0) as f64 / booked as f64),
    );
    table.info(
        "RSS growth per booked appointment (/proc/self/statm)",
        format!(
            "{:.0} B ({} over {} appointments)",
            rss2.saturating_sub(rss1) as f64 / booked as f64,
            mib(rss2.saturating_sub(rss1) as f64),
            fmt_int(booked)
        ),
    );
    table.notes.push(format!(
        "Memory: a counting global allocator (crate `cap`, wrapping the system allocator) gives live heap bytes. \
         A fresh `State` is rebuilt from the journal: {} after the reference data ({} facilities, {} agendas, {} beneficiaries), \
         {} after the {} appointment_booked entries; (after − before) / appointments is the figure. \
         RSS is read from /proc/self/statm before and after the same step; the journal itself is not counted.",
        mib((alloc1 - alloc0) as f64),
        net.state.facilities().len(),
        fmt_int(net.spec.agendas_per_facility as usize * net.state.facilities().len()),
        fmt_int(net.spec.beneficiaries as usize),
        mib((alloc2 - alloc0) as f64),
        fmt_int(booked),
    ));
    assert_eq!(fresh.seq(), net.state.seq());
    assert_eq!(fresh.head(), net.state.head());
    assert_eq!(
        fresh.fingerprint(),
        net.state.fingerprint(),
        "replay must rebuild the very same state"
    );
    fresh
}

fn free_slots_query(service: &str, region: Option<&str>, now: DateTime<Utc>) -> Query {
    Query::FreeSlots {
        service: service.into(),
        region: region.map(Into::into),
        tier: None,
        facilities: Vec::new(),
        from: now,
        to: now + Duration::days(120),
        limit: 10,
        for_referral: false,
    }
}

fn worklist_query(hot: &str) -> Query {
    Query::Worklist {
        facility: hot.into(),
        limit: 100,
        offset: 0,
    }
}

fn routing_query(beneficiary: u32) -> Query {
    Query::SuggestDestinations {
        beneficiary: synth::beneficiary_id(beneficiary),
        service: "obs-hr".into(),
        tier: Tier::Second,
        priority: Priority::Urgent,
    }
}

fn clerk() -> Actor {
    Actor::new(
        "registro",
        CLINIC_AGENCY,
        Some(&synth::facility_id(0)),
        Role::Clerk,
    )
}

fn queries(net: &Network, table: &mut Table) {
    let (s, j, now, n) = (&net.state, &net.journal[..], net.now, net.size.iterations);
    // Free-slot search: the whole network, then one region.
    let q = free_slots_query("prenatal", None, now);
    let who = clerk();
    match query(s, Held::all(j), &who, &q, now) {
        Ok(Answer::FreeSlots(v)) => assert_eq!(v.len(), 10, "ten free slots"),
        other => panic!("free slots: {other:?}"),
    }
    let prenatal = match query(
        s,
        Held::all(j),
        &who,
        &Query::Agendas { facility: None },
        now,
    ) {
        Ok(Answer::Agendas(all)) => all.iter().filter(|a| a.service == "prenatal").count(),
        other => panic!("agendas: {other:?}"),
    };
    let l = latency(n, |_| {
        black_box(query(s, Held::all(j), &who, black_box(&q), now).ok());
    });
    table.target(
        &format!(
            "free-slot search p50: earliest 10 `prenatal` slots, whole network ({} agendas)",
            fmt_int(prenatal)
        ),
        l.p50,
        "µs",
        Goal::AtMost,
        50.0,
    );
    table.info(
        "free-slot search p99 / mean, whole network",
        format!("{:.1} µs / {:.1} µs", l.p99, l.mean),
    );
    let q = free_slots_query("prenatal", Some("centro"), now);
    let l = latency(n, |_| {
        black_box(query(s, Held::all(j), &who, black_box(&q), now).ok());
    });
    table.info(
        "free-slot search p50 / p99, one region (`centro`, 1/5 of the agendas)",
        format!("{:.1} µs / {:.1} µs", l.p50, l.p99),
    );
    // The hot hospital's worklist.
    let boss = coordinator(&net.hot);
    let q = worklist_query(&net.hot);
    match query(s, Held::all(j), &boss, &q, now) {
        Ok(Answer::Worklist(w)) => {
            assert_eq!(w.total as usize, net.size.hot_open, "open referrals");
            // The same page, computed the slow way from the records.
            let mut all: Vec<_> = (1..=s.referral_count() as u32)
                .filter_map(|id| s.referral(id))
                .filter(|r| r.destination == net.hot && r.status.is_open_at_destination())
                .map(|r| {
                    let due = match r.status {
                        ReferralStatus::Requested | ReferralStatus::Received => r.accept_due,
                        _ => r.appointment_due,
                    };
                    (due, r.priority, r.id)
                })
                .collect();
            all.sort_unstable();
            let page: Vec<_> = w
                .items
                .iter()
                .map(|i| (i.deadline, i.priority, i.referral))
                .collect();
            assert_eq!(page, all[..100.min(all.len())], "worklist order");
        }
        other => panic!("worklist: {other:?}"),
    }
    let l = latency(n, |_| {
        black_box(query(s, Held::all(j), &boss, black_box(&q), now).ok());
    });
    table.target(
        &format!(
            "worklist p50: tier-2 hospital with {} open referrals, first 100",
            fmt_int(net.size.hot_open)
        ),
        l.p50,
        "µs",
        Goal::AtMost,
        100.0,
    );
    table.info(
        "worklist p99 / mean",
        format!("{:.1} µs / {:.1} µs", l.p99, l.mean),
    );
    // Routing suggestions for a new referral from a rural clinic.
    let doc = clinician(&synth::facility_id(1), CLINIC_AGENCY);
    let qs: Vec<Query> = (0..64u32)
        .map(|i| routing_query(i * 7 % net.spec.beneficiaries))
        .collect();
    match query(s, Held::all(j), &doc, &qs[0], now) {
        Ok(Answer::Routing(r)) => assert_eq!(
            r.suggested.len() + r.not_suggested.len(),
            net.spec.tier2 as usize
        ),
        other => panic!("routing: {other:?}"),
    }
    let l = latency(n, |i| {
        black_box(query(s, Held::all(j), &doc, black_box(&qs[i % qs.len()]), now).ok());
    });
    table.target(
        &format!(
            "routing suggestions p50: `obs-hr`, tier 2, urgent ({} hospitals)",
            net.spec.tier2
        ),
        l.p50,
        "µs",
        Goal::AtMost,
        200.0,
    );
    table.info(
        "routing suggestions p99 / mean",
        format!("{:.1} µs / {:.1} µs", l.p99, l.mean),
    );
}

fn audit(net: &Network, table: &mut Table) {
    let j = &net.journal[..];
    let events: usize = j.iter().map(|e| e.events.len()).sum();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // Three full passes each; the medians are the figures: `verify` on one
    // core, then the chain split over every core as a host would split it
    // (core runs no threads: it gives the parts and joins their answers).
    let median = |f: &dyn Fn() -> enlace_core::Verification| {
        let mut rates: Vec<f64> = (0..3)
            .map(|_| {
                let t = Instant::now();
                let v = f();
                let secs = t.elapsed().as_secs_f64();
                assert!(v.broken.is_none(), "the generated journal verifies");
                assert_eq!(v.entries as usize, j.len());
                v.events as f64 / secs
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        rates[1]
    };
    let one = median(&|| verify(j));
    let all = median(&|| verify_on_threads(j, cores));
    let what = format!(
        "{} events in {} entries, median of 3",
        fmt_int(events),
        fmt_int(j.len())
    );
    table.target(
        &format!("audit verification on one core (`verify`, SHA-256 chain) of {what}"),
        one,
        "events/s",
        Goal::AtLeast,
        1_200_000.0,
    );
    table.target(
        &format!("audit verification on {cores} cores (`journal::parts` on threads, `join_parts`) of {what}"),
        all,
        "events/s",
        Goal::AtLeast,
        2_000_000.0,
    );
    // The journal's bytes must not change: every timestamp of this journal,
    // written by core's encoder, is compared with chrono's writer.
    let t = Instant::now();
    let stamps: usize = j
        .iter()
        .map(|e| {
            chrono_text::timestamps_as_chrono(e).unwrap_or_else(|m| panic!("entry {}: {m}", e.seq))
        })
        .sum();
    table.info(
        "journal timestamps written as chrono writes them (core's encoder vs chrono, every entry)",
        format!(
            "{} of {} in {} entries ({:.1} s)",
            fmt_int(stamps),
            fmt_int(stamps),
            fmt_int(j.len()),
            t.elapsed().as_secs_f64()
        ),
    );
}

/// The journal verified in one part per thread, joined in order.
fn verify_on_threads(j: &[Entry], threads: usize) -> enlace_core::Verification {
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts(j.len(), threads)
            .map(|r| scope.spawn(move || verify_part(j, r)))
            .collect();
        join_parts(
            handles
                .into_iter()
                .map(|h| h.join().expect("a verifier thread")),
        )
    })
}

/// Booking throughput on fresh free slots of the replayed state.
fn bookings(net: &Network, mut state: State, table: &mut Table) {
    let n = net.size.bookings;
    // Requests picked in advance so that each really books: decide accepts
    // it now, and no two of them share a slot or a beneficiary's minute.
    let mut rng = net.rng.clone();
    let mut slots = HashSet::new();
    let mut minutes = HashSet::new();
    let mut reqs: Vec<Request> = Vec::with_capacity(2 * n);
    while reqs.len() < 2 * n {
        let r = synth::booking(&net.spec, &mut rng);
        let Command::BookAppointment {
            agenda,
            start,
            beneficiary,
            ..
        } = &r.command
        else {
            unreachable!("synth::booking books")
        };
        if decide(&state, &r.actor, &r.command, r.at).is_ok()
            && slots.insert((agenda.clone(), *start))
            && minutes.insert((beneficiary.clone(), *start))
        {
            reqs.push(r);
        }
    }
    drop((slots, minutes));
    let (timed, journaled) = reqs.split_at(n);
    let before = state.appointment_count();
    let mut seq = state.seq();
    let chunk = (n / 5).max(1);
    let mut rates = Vec::new();
    for part in timed.chunks(chunk) {
        let t = Instant::now();
        for r in part {
            seq += 1;
            let events = decide(&state, &r.actor, &r.command, r.at).expect("a free slot");
            let meta = Meta {
                seq,
                at: r.at,
                actor: &r.actor,
            };
            for e in &events {
                state.apply(&meta, e);
            }
        }
        rates.push(part.len() as f64 / t.elapsed().as_secs_f64());
    }
    assert_eq!(
        state.appointment_count(),
        before + n,
        "every request booked"
    );
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    table.target(
        &format!(
            "book (decide + apply) on free slots, state of {} appointments",
            fmt_int(before)
        ),
        median,
        "bookings/s",
        Goal::AtLeast,
        1_000_000.0,
    );
    // The full engine path: the same plus a hash-chained journal entry.
    let mut journal = Vec::with_capacity(n);
    let t = Instant::now();
    for r in journaled {
        let events = decide(&state, &r.actor, &r.command, r.at).expect("a free slot");
        let mut entry = Entry {
            seq: state.seq() + 1,
            at: r.at,
            actor: r.actor.clone(),
            command: r.command.name().to_owned(),
            key: None,
            digest: None,
            events,
            hash: String::new(),
        };
        entry.hash = entry.compute_hash(state.head());
        state.apply_entry(&entry);
        journal.push(entry);
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    table.info(
        "book with its journal entry (decide + SHA-256 chain + apply, as Engine::execute)",
        format!("{} bookings/s", fmt_num(rate)),
    );
    table.notes.push(format!(
        "Bookings: {} requests from `synth::booking`, chosen beforehand so that each is accepted \
         (free slot, no double booking); timed in 5 batches, the median batch is the figure \
         (batches: {}).",
        fmt_int(n),
        rates
            .iter()
            .map(|r| fmt_num(*r))
            .collect::<Vec<_>>()
            .join(", ")
    ));
}

fn criterion_checks(net: &'static Network) {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(40)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    let (s, j, now) = (&net.state, &net.journal[..], net.now);
    let mut g = c.benchmark_group("enlace-core");
    let q = free_slots_query("prenatal", None, now);
    let who = clerk();
    g.bench_function("free_slots_prenatal_network", |b| {
        b.iter(|| query(s, Held::all(j), &who, black_box(&q), now).ok());
    });
    let boss = coordinator(&net.hot);
    let q = worklist_query(&net.hot);
    g.bench_function("worklist_hot_hospital", |b| {
        b.iter(|| query(s, Held::all(j), &boss, black_box(&q), now).ok());
    });
    let doc = clinician(&synth::facility_id(1), CLINIC_AGENCY);
    let q = routing_query(7);
    g.bench_function("routing_obs_hr_tier2", |b| {
        b.iter(|| query(s, Held::all(j), &doc, black_box(&q), now).ok());
    });
    g.finish();
    c.final_summary();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench_mode = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let scale = std::env::var("ENLACE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(if bench_mode { 1.0 } else { 0.001 });
    let size = Size::new(scale);
    eprintln!(
        "enlace-core benchmarks, scale {scale} ({} appointments, {} referrals){}",
        fmt_int(size.appointments),
        fmt_int(size.referrals),
        if bench_mode {
            ""
        } else {
            " — test mode: a functional run, figures mean nothing"
        }
    );
    eprintln!("building the network…");
    // The generator runs on its own thread: glibc gives that thread its own
    // heap arena, so the millions of temporary allocations of the build
    // (requests, JSON for hashing, refused commands) do not fragment the heap
    // the measurements then allocate from, as the state of a server would
    // not carry a generator's garbage. The two queries most sensitive to it
    // are also measured on the generator's thread, for comparison.
    let net = NETWORK.get_or_init(|| {
        std::thread::spawn(move || {
            let mut net = build(size);
            net.generator_heap = allocation_sensitive_p50(&net);
            net
        })
        .join()
        .expect("the generator thread")
    });
    let mut table = Table::default();
    let only = std::env::var("ENLACE_BENCH_ONLY").ok();
    let run = |part: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|x| x == part))
    };
    if run("queries") {
        eprintln!("queries…");
        queries(net, &mut table);
        let (w, r) = net.generator_heap;
        table.info(
            "worklist / routing p50 on the generator's thread (heap fragmented by the build)",
            format!("{w:.1} µs / {r:.1} µs"),
        );
    }
    if run("audit") {
        eprintln!("audit verification…");
        audit(net, &mut table);
    }
    let mut replayed = None;
    if run("replay") {
        eprintln!("replay and memory…");
        replayed = Some(replay_and_memory(net, &mut table));
    }
    if run("book") {
        eprintln!("bookings…");
        let state = replayed.take().unwrap_or_else(|| net.state.clone());
        bookings(net, state, &mut table);
    }
    drop(replayed);
    let statuses = [
        ReferralStatus::Requested,
        ReferralStatus::Received,
        ReferralStatus::Accepted,
        ReferralStatus::Scheduled,
        ReferralStatus::InProgress,
        ReferralStatus::CounterReferred,
        ReferralStatus::Completed,
        ReferralStatus::Rejected,
        ReferralStatus::Cancelled,
        ReferralStatus::Closed,
    ];
    let counts: Vec<String> = statuses
        .iter()
        .map(|st| {
            let k = (1..=net.state.referral_count() as u32)
                .filter(|&id| net.state.referral(id).is_some_and(|r| r.status == *st))
                .count();
            format!("{} {}", st.as_str(), fmt_int(k))
        })
        .collect();
    table.notes.insert(
        0,
        format!(
            "Network: `Spec::regional()` — {} facilities ({} tier-1, {} tier-2, {} tier-3), {} agendas, \
             {}-day horizon, {}-minute slots, {} beneficiaries; {} appointments booked through \
             `synth::booking` + `decide` + `State::apply_entry` ({} requests refused and skipped); \
             {} referrals ({}); hospital {} holds {} open referrals; journal of {} entries; built in {:.1} s; \
             queries asked at {}.",
            net.state.facilities().len(),
            net.spec.tier1,
            net.spec.tier2,
            net.spec.tier3,
            fmt_int(net.spec.agendas_per_facility as usize * net.state.facilities().len()),
            net.spec.horizon_days,
            net.spec.slot_minutes,
            fmt_int(net.spec.beneficiaries as usize),
            fmt_int(net.booking_entries),
            fmt_int(net.refused),
            fmt_int(net.state.referral_count()),
            counts.join(", "),
            net.hot,
            fmt_int(net.size.hot_open),
            fmt_int(net.journal.len()),
            net.build_seconds,
            net.now.to_rfc3339(),
        ),
    );
    if std::env::var("ENLACE_BENCH_CRITERION").as_deref() != Ok("0") {
        eprintln!("criterion cross-check…");
        criterion_checks(net);
    }
    table.print(&format!(
        "## enlace-core benchmarks (scale {}{})",
        net.size.scale,
        if bench_mode { "" } else { ", test mode" }
    ));
}
