//! Durability, races and idempotency against the real server binary on
//! 127.0.0.1, with real SQLite files in a temporary folder.

mod common;

use common::{Api, Server, agenda_slots, journal, seed};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// What a client learnt about one booking it sent.
#[derive(Debug, Clone)]
enum Fate {
    /// 200: the server said it is durable.
    Acked { seq: u64, events: Value },
    /// The engine refused it (nothing was written).
    Refused(u16),
    /// No answer: the server died while the request was in flight.
    Unknown,
}

#[derive(Debug, Clone)]
struct Booking {
    key: String,
    body: Value,
    fate: Fate,
}

const CLINIC_AGENDAS: [&str; 3] = ["F0001-A01", "F0001-A02", "F0001-A03"];

async fn clinic_slots(api: &Api) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in CLINIC_AGENDAS {
        for (start, _) in agenda_slots(api, a, 60).await {
            out.push((a.to_owned(), start));
        }
    }
    out
}

fn booking_body(i: usize, agenda: &str, start: &str) -> Value {
    // Different agendas at the same time get different beneficiaries.
    let agenda_no = CLINIC_AGENDAS
        .iter()
        .position(|a| *a == agenda)
        .unwrap_or(0);
    let b = (i + agenda_no * 13) % 40;
    json!({"agenda": agenda, "start": start, "beneficiary": format!("MX-{:08}", 10_000_000 + b)})
}

async fn book_until_dead(api: Api, work: Vec<(String, Value)>) -> Vec<Booking> {
    let mut out = Vec::new();
    for (key, body) in work {
        let fate = match api.post("/v1/appointments", &body, Some(&key)).await {
            Ok((200, v)) => Fate::Acked {
                seq: v["seq"].as_u64().unwrap(),
                events: v["events"].clone(),
            },
            Ok((status, _)) => Fate::Refused(status),
            Err(_) => Fate::Unknown,
        };
        let dead = matches!(fate, Fate::Unknown);
        out.push(Booking { key, body, fate });
        if dead {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_bookings_survive_sigkill() {
    const CYCLES: usize = 6;
    const CLIENTS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let clerk = tokens["clinic-clerk"].clone();
    // Snapshots every 64 entries: kills land while snapshots are taken and
    // written too, and every restart restores one plus the journal tail.
    let snapshots = [("ENLACE_SNAPSHOT_EVERY", "64")];
    let mut server = Server::start_with_env(&data, &[], &snapshots);
    let slots = clinic_slots(&server.client(&clerk)).await;
    assert!(slots.len() > 2000, "enough distinct slots: {}", slots.len());
    let mut all: Vec<Booking> = Vec::new();
    let mut next = 0usize;
    for cycle in 0..CYCLES {
        if cycle > 0 {
            server = Server::start_with_env(&data, &[], &snapshots);
        }
        let api = server.client(&clerk);
        // What was acknowledged before is served after the restart (a
        // sample here; the whole journal is checked at the end).
        for b in all.iter().step_by(5) {
            if let Fate::Acked { seq, events } = &b.fate {
                let (s, v) = api
                    .post("/v1/appointments", &b.body, Some(&b.key))
                    .await
                    .unwrap();
                assert_eq!(s, 200, "acknowledged booking {} lost: {v}", b.key);
                assert_eq!(v["seq"].as_u64(), Some(*seq));
                assert_eq!(v["replayed"], true);
                // The original answer, even when the engine let the entry
                // go after a snapshot and it is read from the journal.
                assert_eq!(&v["events"], events, "{}", b.key);
            }
        }
        let mut handles = Vec::new();
        for c in 0..CLIENTS {
            let work: Vec<(String, Value)> = (0..200)
                .map(|k| {
                    let i = next + k * CLIENTS + c;
                    let (agenda, start) = &slots[i % slots.len()];
                    (format!("crash-{i}"), booking_body(i, agenda, start))
                })
                .collect();
            handles.push(tokio::spawn(book_until_dead(server.client(&clerk), work)));
        }
        next += 200 * CLIENTS;
        // Kill at a different moment each cycle, while clients are booking.
        tokio::time::sleep(Duration::from_millis(150 + (cycle as u64 * 211) % 700)).await;
        server.kill();
        for h in handles {
            all.extend(h.await.unwrap());
        }
    }
    let acked = all
        .iter()
        .filter(|b| matches!(b.fate, Fate::Acked { .. }))
        .count();
    let unknown = all
        .iter()
        .filter(|b| matches!(b.fate, Fate::Unknown))
        .count();
    assert!(acked > 0, "clients booked before each kill");
    eprintln!("{acked} acknowledged, {unknown} in flight at a kill, over {CYCLES} SIGKILL cycles");

    // The journal on disk verifies and holds every acknowledged booking.
    let entries = journal(&data, "demo");
    assert!(enlace_core::verify(&entries).broken.is_none());
    let by_key: HashMap<&str, &enlace_core::Entry> = entries
        .iter()
        .filter_map(|e| e.key.as_deref().map(|k| (k, e)))
        .collect();
    let keys: Vec<&str> = entries.iter().filter_map(|e| e.key.as_deref()).collect();
    assert_eq!(keys.len(), by_key.len(), "no key was applied twice");
    for b in &all {
        if let Fate::Acked { seq, events } = &b.fate {
            let e = by_key
                .get(b.key.as_str())
                .expect("acknowledged entry on disk");
            assert_eq!(e.seq, *seq);
            assert_eq!(&serde_json::to_value(&e.events).unwrap(), events);
        }
        if let Fate::Refused(status) = b.fate {
            assert!(
                status == 409 || status == 422,
                "{}: refused with {status}",
                b.key
            );
            assert!(
                !by_key.contains_key(b.key.as_str()),
                "a refused command was written"
            );
        }
    }
    // No slot holds more than its capacity (1).
    let mut taken = HashSet::new();
    for e in &entries {
        for ev in &e.events {
            if let enlace_core::Event::AppointmentBooked { agenda, start, .. } = ev {
                assert!(
                    taken.insert((agenda.clone(), *start)),
                    "overbooked {agenda} {start}"
                );
            }
        }
    }

    // After a restart, the in-flight requests are either there (replayed) or
    // can be sent again; either way each key ends up applied exactly once.
    let server = Server::start(&data);
    let api = server.client(&clerk);
    // It started from a snapshot the crash cycles wrote.
    let metrics = api.text("/metrics").await;
    let snapshot_seq: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("enlace_snapshot_seq{tenant=\"demo\"} "))
        .and_then(|v| v.parse().ok())
        .expect("enlace_snapshot_seq in /metrics");
    assert!(
        snapshot_seq > 0,
        "no snapshot was written in {CYCLES} cycles"
    );
    for b in all.iter().filter(|b| matches!(b.fate, Fate::Unknown)) {
        let (s, v) = api
            .post("/v1/appointments", &b.body, Some(&b.key))
            .await
            .unwrap();
        assert!(
            s == 200 || s == 409 || s == 422,
            "retry of {}: {s} {v}",
            b.key
        );
        if s == 200 {
            assert_eq!(v["replayed"], by_key.contains_key(b.key.as_str()));
        }
    }
    // The state the server serves is the journal's: every acknowledged
    // appointment is booked for its beneficiary.
    for b in all
        .iter()
        .filter(|b| matches!(b.fate, Fate::Acked { .. }))
        .take(60)
    {
        let Fate::Acked { events, .. } = &b.fate else {
            continue;
        };
        let id = events[0]["appointment"].as_u64().unwrap();
        let who = b.body["beneficiary"].as_str().unwrap();
        let (s, v) = api
            .get(&format!("/v1/beneficiaries/{who}/appointments"))
            .await
            .unwrap();
        assert_eq!(s, 200);
        assert!(
            v.as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"].as_u64() == Some(id) && a["status"] == "booked"),
            "appointment {id} of {who} missing from the served state"
        );
    }
    let entries = journal(&data, "demo");
    let keys: Vec<&str> = entries.iter().filter_map(|e| e.key.as_deref()).collect();
    let unique: HashSet<&str> = keys.iter().copied().collect();
    assert_eq!(
        keys.len(),
        unique.len(),
        "no key applied twice after retries"
    );
    drop(server);
    let out = common::cli(&data, &["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Creates an agenda with one slot a day of `capacity` places and registers
/// `n` beneficiaries; returns the first slot's start.
async fn race_setup(admin: &Api, capacity: u32, n: usize) -> String {
    let today = chrono::Utc::now().date_naive();
    let rules: Vec<Value> = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "09:00:00", "end": "09:15:00"}))
        .collect();
    let agenda = json!({
        "id": "RACE-A", "facility": "F0001", "service": "prenatal", "practitioner": null,
        "rules": rules,
        "valid_from": today.to_string(), "valid_to": null, "slot_minutes": 15,
        "capacity": capacity, "overbooking": 0, "horizon_days": 30,
        "min_notice_minutes": 60, "referral_share_percent": 0
    });
    let (s, v) = admin.post("/v1/agendas", &agenda, None).await.unwrap();
    assert_eq!(s, 200, "{v}");
    let mut regs = Vec::new();
    for i in 0..n {
        let a = admin.clone();
        regs.push(tokio::spawn(async move {
            let b = json!({"id": format!("RACE-{i:04}"), "name": format!("Racer {i}"),
                "birth_date": "1990-01-01", "sex": "female",
                "coverage": [{"programme": "bienestar-salud", "agency": "imss-bienestar",
                              "valid_from": "2020-01-01", "valid_to": null}]});
            a.post("/v1/beneficiaries", &b, None).await.unwrap()
        }));
    }
    for r in regs {
        let (s, v) = r.await.unwrap();
        assert_eq!(s, 200, "{v}");
    }
    let slots = agenda_slots(admin, "RACE-A", 7).await;
    slots[0].0.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_clients_race_for_fifty_places() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let mut server = Server::start(&data);
    let admin = server.client(&tokens["admin"]);
    let start = race_setup(&admin, 50, 200).await;
    let clerk = server.client(&tokens["clinic-clerk"]);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(200));
    let mut handles = Vec::new();
    for i in 0..200 {
        // One connection per client, so the 200 requests truly race.
        let api = Api {
            http: reqwest::Client::new(),
            ..clerk.clone()
        };
        let barrier = barrier.clone();
        let start = start.clone();
        handles.push(tokio::spawn(async move {
            let body =
                json!({"agenda": "RACE-A", "start": start, "beneficiary": format!("RACE-{i:04}")});
            barrier.wait().await;
            api.post("/v1/appointments", &body, None).await.unwrap()
        }));
    }
    let mut won = 0;
    let mut lost = 0;
    for h in handles {
        let (s, v) = h.await.unwrap();
        match s {
            200 => won += 1,
            409 => {
                assert_eq!(v["code"], "slot_full", "{v}");
                lost += 1;
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!((won, lost), (50, 150));
    // No overbooking after a crash and restart either.
    server.kill();
    let server = Server::start(&data);
    let admin = server.client(&tokens["admin"]);
    let date = chrono::DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .date_naive();
    let (s, v) = admin
        .get(&format!("/v1/agendas/RACE-A/slots?from={date}&days=1"))
        .await
        .unwrap();
    assert_eq!(s, 200);
    let slot = v[0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["start"] == start.as_str())
        .unwrap()
        .clone();
    assert_eq!(slot["taken"], 50);
    let (_, apps) = admin
        .get(&format!("/v1/agendas/RACE-A/appointments?date={date}"))
        .await
        .unwrap();
    assert_eq!(apps.as_array().unwrap().len(), 50);
    // One more is still refused.
    let (s, _) = server
        .client(&tokens["clinic-clerk"])
        .post(
            "/v1/appointments",
            &json!({"agenda": "RACE-A", "start": start, "beneficiary": "MX-10000000"}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(s, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_retries_under_load() {
    const CLIENTS: usize = 32;
    const EACH: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let mut server = Server::start(&data);
    let clerk = server.client(&tokens["clinic-clerk"]);
    let slots = clinic_slots(&clerk).await;
    let before = common::journal_len(&clerk, "demo").await;
    let mut handles = Vec::new();
    for c in 0..CLIENTS {
        let api = clerk.clone();
        let mine: Vec<(String, Value)> = (0..EACH)
            .map(|k| {
                let i = c * EACH + k;
                let (agenda, start) = &slots[i * 7 % slots.len()];
                (format!("idem-{i}"), booking_body(i, agenda, start))
            })
            .collect();
        handles.push(tokio::spawn(async move {
            let mut results = Vec::new();
            for (key, body) in mine {
                // The same request three times at once, as an impatient client would.
                let (a, b, c) = tokio::join!(
                    api.post("/v1/appointments", &body, Some(&key)),
                    api.post("/v1/appointments", &body, Some(&key)),
                    api.post("/v1/appointments", &body, Some(&key)),
                );
                results.push((key, body, [a.unwrap(), b.unwrap(), c.unwrap()]));
            }
            results
        }));
    }
    let mut answers: Vec<(String, Value, u64, Value)> = Vec::new();
    let mut refused = 0;
    for h in handles {
        for (key, body, three) in h.await.unwrap() {
            let ok: Vec<&(u16, Value)> = three.iter().filter(|(s, _)| *s == 200).collect();
            if ok.is_empty() {
                refused += 1;
                continue;
            }
            assert_eq!(ok.len(), 3, "{key}: {three:?}");
            let originals = ok.iter().filter(|(_, v)| v["replayed"] == false).count();
            assert_eq!(originals, 1, "{key}: exactly one of three executes");
            let seq = ok[0].1["seq"].as_u64().unwrap();
            for (_, v) in &ok {
                assert_eq!(v["seq"].as_u64(), Some(seq));
                assert_eq!(v["events"], ok[0].1["events"]);
            }
            answers.push((key, body, seq, ok[0].1["events"].clone()));
        }
    }
    assert!(
        answers.len() > CLIENTS * EACH * 9 / 10,
        "most bookings succeed ({refused} refused)"
    );
    let after = common::journal_len(&clerk, "demo").await;
    assert_eq!(after - before, answers.len() as u64, "one entry per key");
    // After a restart the original answers come back.
    server.stop();
    let server = Server::start(&data);
    let clerk = server.client(&tokens["clinic-clerk"]);
    for (key, body, seq, events) in answers.iter().step_by(7) {
        let (s, v) = clerk
            .post("/v1/appointments", body, Some(key))
            .await
            .unwrap();
        assert_eq!(s, 200);
        assert_eq!(v["seq"].as_u64(), Some(*seq));
        assert_eq!(&v["events"], events);
        assert_eq!(v["replayed"], true);
    }
    // The same key with a different command is a conflict.
    let (key, body, _, _) = &answers[0];
    let mut other = body.clone();
    other["beneficiary"] = json!("MX-10000039");
    let (s, v) = clerk
        .post("/v1/appointments", &other, Some(key))
        .await
        .unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    assert_eq!(common::journal_len(&clerk, "demo").await, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_in_flight_commits() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let server = Server::start(&data);
    let clerk = tokens["clinic-clerk"].clone();
    let slots = clinic_slots(&server.client(&clerk)).await;
    let mut handles = Vec::new();
    for c in 0..16 {
        let work: Vec<(String, Value)> = (0..400)
            .map(|k| {
                let i = k * 16 + c;
                let (agenda, start) = &slots[i % slots.len()];
                (format!("term-{i}"), booking_body(i, agenda, start))
            })
            .collect();
        handles.push(tokio::spawn(book_until_dead(server.client(&clerk), work)));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut server = server;
    let status = tokio::task::spawn_blocking(move || {
        let s = server.stop();
        drop(server);
        s
    })
    .await
    .unwrap();
    assert!(status.success(), "graceful exit: {status:?}");
    let mut acked = 0;
    let entries = journal(&data, "demo");
    let keys: HashSet<&str> = entries.iter().filter_map(|e| e.key.as_deref()).collect();
    for h in handles {
        for b in h.await.unwrap() {
            if let Fate::Acked { .. } = b.fate {
                acked += 1;
                assert!(
                    keys.contains(b.key.as_str()),
                    "{} acknowledged but not on disk",
                    b.key
                );
            }
        }
    }
    assert!(acked > 0);
    assert!(enlace_core::verify(&entries).broken.is_none());
}
