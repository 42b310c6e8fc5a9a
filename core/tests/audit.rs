//! Tamper tests of the hash-chained journal, over a journal produced by a
//! realistic run (reference data, three referral loops with redirect,
//! escalation, no-show, cancel and follow-up, ordinary bookings with
//! idempotency keys, a waitlist): every altered, dropped, swapped or
//! duplicated record is reported at its own index by `enlace_core::verify`
//! and refused by `Engine::from_entries`. Also the audit queries.

use chrono::{DateTime, Duration, Utc};
use enlace_core::priority::Priority;
use enlace_core::referral::{
    CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination, FollowUpRequest,
    RejectReason,
};
use enlace_core::{
    Actor, Answer, Command, Engine, Entry, Event, Outcome, Query, Request, Role, Verification,
    verify,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

// --- fixture -----------------------------------------------------------------

#[path = "common/network.rs"]
mod network;
use network::*;

fn keyed(
    e: &mut Engine,
    actor: &Actor,
    at: DateTime<Utc>,
    key: Option<&str>,
    command: Command,
) -> Outcome {
    let name = command.name();
    e.execute(Request {
        actor: actor.clone(),
        at,
        key: key.map(str::to_owned),
        command,
    })
    .unwrap_or_else(|err| panic!("{name} by {} refused: {err}", actor.user))
}

fn booked_id(out: &Outcome) -> u32 {
    out.events
        .iter()
        .find_map(|ev| match ev {
            Event::AppointmentBooked { appointment, .. } => Some(*appointment),
            _ => None,
        })
        .unwrap()
}

fn refer(e: &mut Engine, beneficiary: &str, to: &str) -> u32 {
    let out = ok(
        e,
        &dr("C1"),
        Command::CreateReferral {
            beneficiary: beneficiary.into(),
            service: "obs-hr".into(),
            destination: Destination::Facility(to.into()),
            priority: Priority::Urgent,
            reason: ClinicalReason {
                icd10: vec!["O14.1".into(), "O24.4".into()],
                text: "Pre-eclampsia; gestational diabetes — «alto riesgo»".into(),
            },
            attachments: vec![enlace_core::referral::Attachment {
                id: format!("doc-{beneficiary}"),
                media_type: "application/pdf".into(),
                title: "Ultrasound".into(),
            }],
        },
    );
    match out.events[0] {
        Event::ReferralCreated { referral, .. } => referral,
        _ => unreachable!(),
    }
}

fn accept(id: u32) -> Command {
    Command::AcceptReferral {
        referral: id,
        note: "ok".into(),
    }
}

fn schedule(id: u32, agenda: &str, start: DateTime<Utc>) -> Command {
    Command::ScheduleReferral {
        referral: id,
        agenda: agenda.into(),
        start,
    }
}

/// A realistic day and a half of the network.
fn run() -> Engine {
    let mut e = network();
    let tue = |h, m| mx("2026-03-03", h, m);
    // 1. The whole loop for MX-P1, with the follow-up booked at the origin.
    let r1 = refer(&mut e, "MX-P1", "H2");
    ok(
        &mut e,
        &coord("H2"),
        Command::ReceiveReferral { referral: r1 },
    );
    ok(&mut e, &dr("H2"), accept(r1));
    let a1 = booked_id(&ok(&mut e, &coord("H2"), schedule(r1, "H2-obs", tue(8, 0))));
    // 2. MX-P3: redirected, escalated, finally rejected.
    let r2 = refer(&mut e, "MX-P3", "H2");
    ok(
        &mut e,
        &coord("H2"),
        Command::RedirectReferral {
            referral: r2,
            to: "H2B".into(),
            reason: "Full".into(),
        },
    );
    ok(
        &mut e,
        &coord("H2B"),
        Command::EscalateReferral {
            referral: r2,
            to: None,
            reason: "Needs neonatal intensive care".into(),
        },
    );
    ok(
        &mut e,
        &coord("H3B"),
        Command::RejectReferral {
            referral: r2,
            reason: RejectReason::Other,
            text: "Transferred by ambulance instead".into(),
        },
    );
    // 3. MX-P1 again, inside Bienestar: scheduled, then cancelled by the origin.
    let r3 = refer(&mut e, "MX-P1", "HB2");
    ok(&mut e, &coord("HB2"), accept(r3));
    ok(&mut e, &coord("HB2"), schedule(r3, "HB2-obs", tue(13, 0)));
    ok(
        &mut e,
        &dr("C1"),
        Command::CancelReferral {
            referral: r3,
            reason: "Seen at H2".into(),
        },
    );
    // Ordinary bookings, some with idempotency keys, and a waitlist.
    let b1 = booked_id(&keyed(
        &mut e,
        &clerk("C1"),
        now(),
        Some("k-1"),
        Command::BookAppointment {
            agenda: "C1-pre".into(),
            start: tue(10, 0),
            beneficiary: "MX-P2".into(),
            follow_up_of: None,
            overbook: false,
        },
    ));
    keyed(
        &mut e,
        &clerk("C2"),
        now(),
        Some("k-2"),
        Command::BookAppointment {
            agenda: "C2-pre".into(),
            start: tue(10, 0),
            beneficiary: "MX-P3".into(),
            follow_up_of: None,
            overbook: false,
        },
    );
    keyed(
        &mut e,
        &clerk("C1"),
        now(),
        Some("k-3"),
        Command::JoinWaitlist {
            beneficiary: "MX-P1".into(),
            service: "prenatal".into(),
            facility: Some("C1".into()),
            priority: Priority::Priority,
        },
    );
    let h2_booking = booked_id(&ok(
        &mut e,
        &clerk("H2"),
        Command::BookAppointment {
            agenda: "H2-obs".into(),
            start: tue(8, 30),
            beneficiary: "MX-I1".into(),
            follow_up_of: None,
            overbook: false,
        },
    ));
    // Tuesday: MX-P1 arrives at H2, is treated and counter-referred.
    ok_at(
        &mut e,
        &clerk("H2"),
        tue(8, 0),
        Command::MarkArrived { appointment: a1 },
    );
    ok_at(
        &mut e,
        &dr("H2"),
        tue(8, 40),
        Command::SendCounterReferral {
            referral: r1,
            counter_referral: CounterReferral {
                summary: CareSummary {
                    diagnoses: vec!["O14.1".into()],
                    procedures: vec!["Sulfato de magnesio".into()],
                    outcome: CareOutcome::Improved,
                    text: "Tensión arterial controlada".into(),
                },
                instructions: "Control semanal".into(),
                follow_up: Some(FollowUpRequest {
                    service: "prenatal".into(),
                    within_days: 7,
                    note: String::new(),
                }),
            },
        },
    );
    ok_at(
        &mut e,
        &clerk("C1"),
        tue(9, 0),
        Command::BookAppointment {
            agenda: "C1-pre".into(),
            start: mx("2026-03-05", 9, 0),
            beneficiary: "MX-P1".into(),
            follow_up_of: Some(r1),
            overbook: false,
        },
    );
    ok_at(
        &mut e,
        &dr("C1"),
        tue(9, 5),
        Command::AcknowledgeCounterReferral { referral: r1 },
    );
    // MX-P2 misses her prenatal visit; the clerk cancels the H2 booking.
    ok_at(
        &mut e,
        &clerk("C1"),
        tue(10, 30),
        Command::MarkNoShow { appointment: b1 },
    );
    ok_at(
        &mut e,
        &clerk("H2"),
        tue(10, 30),
        Command::CancelAppointment {
            appointment: h2_booking,
            reason: "Duplicate".into(),
        },
    );
    assert!(e.verify().broken.is_none());
    e
}

// --- tamper helpers ----------------------------------------------------------------

fn broken_at(entries: &[Entry]) -> Option<(u64, String)> {
    verify(entries).broken.map(|b| (b.index, b.reason))
}

/// `verify` and `Engine::from_entries` both report the break at `index`.
fn assert_broken_at(entries: Vec<Entry>, index: usize, what: &str) {
    let v = verify(&entries);
    let Some(b) = &v.broken else {
        panic!("{what}: not detected")
    };
    assert_eq!(
        b.index, index as u64,
        "{what}: reported at the wrong record ({b:?})"
    );
    assert_eq!(b.seq, entries[index].seq, "{what}");
    assert_eq!(
        v.entries, index as u64,
        "{what}: entries verified before the break"
    );
    // Split over threads, the chain breaks at the same record.
    for threads in [2, 3, 7] {
        assert_eq!(
            in_parts(&entries, threads),
            v,
            "{what}: on {threads} threads"
        );
    }
    match Engine::from_entries(entries) {
        Ok(_) => panic!("{what}: from_entries accepted it"),
        Err(refused) => assert_eq!(&refused, b, "{what}"),
    }
}

/// The journal verified in `n` parts joined in order, as a face that splits
/// it over threads does.
fn in_parts(entries: &[Entry], n: usize) -> enlace_core::Verification {
    use enlace_core::journal::{join_parts, parts, verify_part};
    join_parts(parts(entries.len(), n).map(|r| verify_part(entries, r)))
}

fn to_json(e: &Entry) -> String {
    serde_json::to_string(e).unwrap()
}

// --- tamper tests --------------------------------------------------------------------

#[test]
fn the_untampered_journal_verifies_and_survives_json() {
    let e = run();
    let journal = e.journal().to_vec();
    assert!(journal.len() > 40, "a realistic journal");
    assert!(
        journal
            .iter()
            .any(|x| x.key.is_some() && x.digest.is_some())
    );
    let v = verify(&journal);
    assert_eq!(v.broken, None);
    assert_eq!(v.entries, journal.len() as u64);
    assert_eq!(
        v.events,
        journal.iter().map(|x| x.events.len() as u64).sum::<u64>()
    );
    assert_eq!(v.head, e.state().head());
    assert_eq!(v, e.verify());
    for threads in [0, 1, 2, 5, journal.len(), journal.len() + 3] {
        assert_eq!(in_parts(&journal, threads), v, "{threads} threads");
    }
    // The journal travels as JSON lines and comes back identical.
    let lines: Vec<String> = journal.iter().map(to_json).collect();
    let back: Vec<Entry> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(back, journal);
    let replay = Engine::from_entries(back).unwrap();
    assert_eq!(replay.state().fingerprint(), e.state().fingerprint());
}

/// The format an auditor in another language implements: SHA-256 over the
/// record's own compact JSON with its `hash` field taken off and the
/// previous hash put first as `prev` ("" for the first record).
#[test]
fn the_chain_can_be_recomputed_from_its_documented_format() {
    let e = run();
    let mut prev = String::new();
    for entry in e.journal() {
        let json = to_json(entry);
        let tail = json.rfind(",\"hash\":").unwrap();
        let body = format!(
            "{{\"prev\":{},{}}}",
            Value::String(prev.clone()),
            &json[1..tail]
        );
        let hash: String = Sha256::digest(body.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash, entry.hash, "entry {}", entry.seq);
        assert_eq!(entry.compute_hash(&prev), entry.hash);
        prev = hash;
    }
}

#[test]
fn flipping_any_byte_of_any_record_is_detected_at_that_record() {
    let e = run();
    let journal = e.journal().to_vec();
    let (mut tried, mut parsed) = (0usize, 0usize);
    for (i, entry) in journal.iter().enumerate() {
        let json = to_json(entry).into_bytes();
        for pos in 0..json.len() {
            // Three masks in turn: low bit (digits, letters), second bit,
            // and case.
            let mask = [0x01u8, 0x02, 0x20][pos % 3];
            let mut bytes = json.clone();
            bytes[pos] ^= mask;
            tried += 1;
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let Ok(tampered) = serde_json::from_str::<Entry>(text) else {
                continue;
            };
            if tampered == *entry {
                // The same record spelt differently (e.g. hex case of the
                // digest): nothing was altered.
                continue;
            }
            parsed += 1;
            let mut copy = journal.clone();
            copy[i] = tampered;
            assert_broken_at(
                copy,
                i,
                &format!(
                    "record {i}, byte {pos} ({:?}) ^ {mask:#04x}",
                    json[pos] as char
                ),
            );
        }
    }
    // Most flips break the JSON; enough of them still parse to matter.
    assert!(parsed > tried / 20, "{parsed} of {tried} flips parsed");
}

/// Every way to change one leaf of a JSON value, that still parses.
fn leaf_changes(v: &Value) -> Vec<Value> {
    match v {
        Value::Bool(b) => vec![Value::Bool(!b)],
        Value::Number(n) => {
            let mut out = Vec::new();
            if let Some(u) = n.as_u64() {
                out.push(Value::from(u + 1));
                if u > 0 {
                    out.push(Value::from(u - 1));
                }
            } else if let Some(i) = n.as_i64() {
                out.push(Value::from(i + 1));
            }
            out
        }
        Value::String(s) => {
            let mut out = vec![Value::String(format!("{s}x"))];
            // Bump the last digit: keeps dates, times and hashes parseable.
            if let Some(p) = s.rfind(|c: char| c.is_ascii_digit()) {
                let mut t = s.clone().into_bytes();
                t[p] = b'0' + (t[p] - b'0' + 1) % 10;
                out.push(Value::String(String::from_utf8(t).unwrap()));
            }
            out
        }
        Value::Null => vec![],
        Value::Array(items) => {
            let mut out = Vec::new();
            for (k, item) in items.iter().enumerate() {
                for changed in leaf_changes(item) {
                    let mut copy = items.clone();
                    copy[k] = changed;
                    out.push(Value::Array(copy));
                }
            }
            out
        }
        Value::Object(map) => {
            let mut out = Vec::new();
            for (k, item) in map {
                for changed in leaf_changes(item) {
                    let mut copy = map.clone();
                    copy.insert(k.clone(), changed);
                    out.push(Value::Object(copy));
                }
            }
            out
        }
    }
}

#[test]
fn changing_any_field_of_any_record_is_detected_at_that_record() {
    let e = run();
    let journal = e.journal().to_vec();
    let mut changed = 0;
    let mut fields = std::collections::BTreeSet::new();
    for (i, entry) in journal.iter().enumerate() {
        let value = serde_json::to_value(entry).unwrap();
        for candidate in leaf_changes(&value) {
            let Ok(tampered) = serde_json::from_value::<Entry>(candidate.clone()) else {
                continue;
            };
            if tampered == *entry {
                continue;
            }
            if let (Value::Object(a), Value::Object(b)) = (&value, &candidate) {
                fields.extend(a.keys().filter(|k| a[*k] != b[*k]).cloned());
            }
            changed += 1;
            let mut copy = journal.clone();
            copy[i] = tampered;
            assert_broken_at(copy, i, &format!("record {i}: {candidate}"));
        }
        // Whole-field changes the leaf walk cannot make.
        let mut whole = Vec::new();
        let mut x = entry.clone();
        x.key = if x.key.is_some() {
            None
        } else {
            Some("new".into())
        };
        whole.push(("key", x));
        let mut x = entry.clone();
        x.digest = Some(x.digest.map_or(7, |d| d ^ 1));
        whole.push(("digest", x));
        let mut x = entry.clone();
        x.actor.facility = if x.actor.facility.is_some() {
            None
        } else {
            Some("C1".into())
        };
        whole.push(("actor.facility", x));
        let mut x = entry.clone();
        x.actor.role = if x.actor.role == Role::Auditor {
            Role::Admin
        } else {
            Role::Auditor
        };
        whole.push(("actor.role", x));
        let mut x = entry.clone();
        x.events.pop();
        whole.push(("events (one dropped)", x));
        let mut x = entry.clone();
        x.events.push(x.events[0].clone());
        whole.push(("events (one repeated)", x));
        if entry.events.len() > 1 {
            let mut x = entry.clone();
            x.events.swap(0, 1);
            whole.push(("events (reordered)", x));
        }
        let mut x = entry.clone();
        x.hash = x.hash.to_uppercase();
        if x.hash != entry.hash {
            whole.push(("hash (upper case)", x));
        }
        let mut x = entry.clone();
        x.hash.clear();
        whole.push(("hash (empty)", x));
        for (what, tampered) in whole {
            let mut copy = journal.clone();
            copy[i] = tampered;
            assert_broken_at(copy, i, &format!("record {i}: {what}"));
            changed += 1;
        }
    }
    assert!(changed > journal.len() * 20, "{changed} changes tried");
    for f in [
        "seq", "at", "actor", "command", "key", "digest", "events", "hash",
    ] {
        assert!(
            fields.contains(f),
            "no leaf of `{f}` was changed: {fields:?}"
        );
    }
}

#[test]
fn a_forger_who_rehashes_the_record_is_caught_at_the_next_one() {
    let e = run();
    let journal = e.journal().to_vec();
    for i in 0..journal.len() {
        let mut copy = journal.clone();
        copy[i].at += Duration::seconds(1);
        let prev = if i == 0 {
            String::new()
        } else {
            copy[i - 1].hash.clone()
        };
        copy[i].hash = copy[i].compute_hash(&prev);
        if i + 1 < journal.len() {
            assert_broken_at(copy, i + 1, &format!("record {i} rehashed"));
        } else {
            // Rewriting the last record and its hash leaves a valid chain
            // with another head: only the head recorded elsewhere (the
            // host's, a replica's, a receipt) tells them apart.
            let v = verify(&copy);
            assert_eq!(v.broken, None);
            assert_ne!(v.head, e.state().head());
        }
    }
}

#[test]
fn dropping_any_record_is_detected_where_the_gap_appears() {
    let e = run();
    let journal = e.journal().to_vec();
    let n = journal.len();
    for i in 0..n {
        let mut copy = journal.clone();
        copy.remove(i);
        if i + 1 < n {
            assert_broken_at(copy.clone(), i, &format!("record {i} dropped"));
            assert_eq!(broken_at(&copy).unwrap().1, "sequence_gap");
            // Renumbering the rest to hide the gap breaks the hashes instead.
            for (k, x) in copy.iter_mut().enumerate().skip(i) {
                x.seq = k as u64 + 1;
            }
            assert_broken_at(copy.clone(), i, &format!("record {i} dropped, renumbered"));
            assert_eq!(broken_at(&copy).unwrap().1, "hash_mismatch");
        } else {
            // Dropping the tail leaves a shorter valid chain: its head is
            // not the one recorded.
            let v = verify(&copy);
            assert_eq!(v.broken, None);
            assert_eq!(v.entries, n as u64 - 1);
            assert_ne!(v.head, e.state().head());
        }
    }
    // Dropping the first records breaks at the start.
    assert_broken_at(journal[3..].to_vec(), 0, "first three dropped");
}

#[test]
fn swapping_any_two_adjacent_records_is_detected_at_the_first() {
    let e = run();
    let journal = e.journal().to_vec();
    for i in 0..journal.len() - 1 {
        let mut copy = journal.clone();
        copy.swap(i, i + 1);
        assert_broken_at(
            copy.clone(),
            i,
            &format!("records {i} and {} swapped", i + 1),
        );
        // Swapping the seq numbers back does not help.
        let (a, b) = (copy[i].seq, copy[i + 1].seq);
        copy[i].seq = b;
        copy[i + 1].seq = a;
        assert_broken_at(
            copy,
            i,
            &format!("records {i} and {} swapped, renumbered", i + 1),
        );
    }
}

#[test]
fn inserting_a_duplicate_anywhere_is_detected_at_the_duplicate() {
    let e = run();
    let journal = e.journal().to_vec();
    for i in 0..journal.len() {
        // Right after the original, and at the end.
        for at in [i + 1, journal.len()] {
            let mut copy = journal.clone();
            copy.insert(at, journal[i].clone());
            assert_broken_at(copy, at, &format!("record {i} repeated at {at}"));
        }
        // A replay of an earlier record under the next number.
        let mut copy = journal.clone();
        let mut dup = journal[i].clone();
        dup.seq = journal.len() as u64 + 1;
        copy.push(dup);
        assert_broken_at(copy, journal.len(), &format!("record {i} replayed"));
    }
}

#[test]
fn a_journal_from_another_network_does_not_continue_this_one() {
    let e = run();
    let mut other = network();
    ok(
        &mut other,
        &admin(),
        Command::DeclareHoliday {
            date: date("2026-03-16"),
            name: "Natalicio de Benito Juárez".into(),
        },
    );
    // The networks share their first records; a record of the other one
    // put in place of this one's is a valid link of its own chain, and the
    // record after it is what gives it away.
    let k = other.journal().len() - 1;
    let mut spliced = e.journal().to_vec();
    spliced[k] = other.journal()[k].clone();
    assert_broken_at(spliced, k + 1, "a record of another network spliced in");
}

// --- the audit queries -----------------------------------------------------------------

fn trail(
    e: &Engine,
    actor: &Actor,
    facility: Option<&str>,
    referral: Option<u32>,
    after: u64,
    limit: u32,
) -> Result<Vec<u64>, String> {
    match e.query(
        actor,
        &Query::AuditTrail {
            facility: facility.map(str::to_owned),
            referral,
            after,
            limit,
        },
        now(),
    ) {
        Ok(Answer::Entries(list)) => {
            // Entries come back whole and unchanged.
            for x in &list {
                assert_eq!(x, &e.journal()[x.seq as usize - 1]);
            }
            Ok(list.iter().map(|x| x.seq).collect())
        }
        Ok(other) => panic!("{other:?}"),
        Err(err) => Err(err.code().to_owned()),
    }
}

/// The entries about referral `r`, computed from the journal alone: its own
/// events and the events of its appointments.
fn expected_referral_trail(journal: &[Entry], r: u32) -> Vec<u64> {
    let mut appointments = Vec::new();
    let mut out = Vec::new();
    for x in journal {
        let mut touches = false;
        for ev in &x.events {
            if let Event::AppointmentBooked {
                appointment,
                referral: Some(rr),
                ..
            } = ev
                && *rr == r
            {
                appointments.push(*appointment);
            }
            let appointment = match ev {
                Event::AppointmentCancelled { appointment, .. }
                | Event::AppointmentRescheduled { appointment, .. }
                | Event::AppointmentArrived { appointment }
                | Event::AppointmentFulfilled { appointment }
                | Event::AppointmentNoShow { appointment } => Some(*appointment),
                _ => None,
            };
            touches |=
                ev.referral() == Some(r) || appointment.is_some_and(|a| appointments.contains(&a));
        }
        if touches {
            out.push(x.seq);
        }
    }
    out
}

#[test]
fn the_audit_trail_is_for_auditors_and_filters_by_referral_and_facility() {
    let e = run();
    let journal = e.journal();
    let aud = auditor();
    // Auditors only: not even admins or the facilities involved.
    for actor in [
        admin(),
        dr("C1"),
        coord("H2"),
        clerk("H2"),
        who(Role::Auditor, "H2"),
    ] {
        let expect = if actor.role == Role::Auditor {
            Ok(())
        } else {
            Err("not_permitted".to_owned())
        };
        assert_eq!(
            trail(&e, &actor, None, Some(1), 0, 100).map(|_| ()),
            expect,
            "{}",
            actor.user
        );
    }
    // Everything, paged.
    let all = trail(&e, &aud, None, None, 0, 1000).unwrap();
    assert_eq!(all, (1..=journal.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        trail(&e, &aud, None, None, 10, 5).unwrap(),
        [11, 12, 13, 14, 15]
    );
    assert_eq!(
        trail(&e, &aud, None, None, journal.len() as u64, 5).unwrap(),
        Vec::<u64>::new()
    );

    // By referral: exactly the entries about it, in order.
    for r in 1..=3 {
        let got = trail(&e, &aud, None, Some(r), 0, 1000).unwrap();
        assert_eq!(got, expected_referral_trail(journal, r), "referral {r}");
        assert!(!got.is_empty());
        // The referral's timeline points at entries of its trail.
        let timeline = &e.state().referral(r).unwrap().timeline;
        assert!(
            timeline.iter().all(|s| got.contains(&s.seq)),
            "referral {r}"
        );
    }
    assert_eq!(
        trail(&e, &aud, None, Some(99), 0, 1000).unwrap(),
        Vec::<u64>::new()
    );
    // Referral 2 went H2 → H2B → H3B: its whole trail, page by page.
    let r2 = trail(&e, &aud, None, Some(2), 0, 1000).unwrap();
    assert_eq!(r2.len(), 4);
    assert_eq!(trail(&e, &aud, None, Some(2), r2[1], 1).unwrap(), [r2[2]]);

    // By facility: what its people did, and every entry about its own
    // records: its registration, its agendas, its appointments, and every
    // step of the referrals it takes part in.
    let state = e.state();
    let agendas: Vec<(&str, &str)> = AGENDAS.iter().map(|a| (a.0, a.1)).collect();
    for &(f, ..) in FACILITIES {
        let expected: Vec<u64> = journal
            .iter()
            .filter(|x| {
                x.actor.facility.as_deref() == Some(f)
                    || x.events.iter().any(|ev| match ev {
                        Event::FacilityRegistered { facility } => facility.id == f,
                        Event::AgendaDefined { agenda } => agenda.facility == f,
                        Event::ClosureAdded { agenda, .. } => {
                            agendas.contains(&(agenda.as_str(), f))
                        }
                        Event::AppointmentBooked { facility, .. } if facility == f => true,
                        _ => ev
                            .referral()
                            .and_then(|r| state.referral(r))
                            .is_some_and(|r| {
                                r.origin == f || r.destinations.iter().any(|d| d == f)
                            }),
                    })
            })
            .map(|x| x.seq)
            .collect();
        assert_eq!(
            trail(&e, &aud, Some(f), None, 0, 1000).unwrap(),
            expected,
            "facility {f}"
        );
    }
    let h2 = trail(&e, &aud, Some("H2"), None, 0, 1000).unwrap();
    // Referral 2 left H2 for H2B, then H3B: H2 keeps seeing all of it, as
    // its timeline does.
    assert!(r2.iter().all(|s| h2.contains(s)));
    // What happened only at C2, or inside Bienestar, is not H2's.
    for s in journal
        .iter()
        .filter(|x| x.actor.facility.as_deref() == Some("C2"))
        .map(|x| x.seq)
        .chain(expected_referral_trail(journal, 3))
    {
        assert!(!h2.contains(&s), "entry {s} is not about H2");
    }
    // Both filters at once.
    assert_eq!(
        trail(&e, &aud, Some("C2"), Some(1), 0, 1000).unwrap(),
        Vec::<u64>::new()
    );
    assert_eq!(
        trail(&e, &aud, Some("C1"), Some(1), 0, 1000).unwrap(),
        trail(&e, &aud, None, Some(1), 0, 1000).unwrap()
    );
}

#[test]
fn verify_audit_is_for_auditors_and_admins() {
    let e = run();
    for actor in [auditor(), admin()] {
        match e.query(&actor, &Query::VerifyAudit, now()).unwrap() {
            Answer::Verification(Verification {
                entries,
                events,
                head,
                broken,
            }) => {
                assert_eq!(entries, e.journal().len() as u64);
                assert_eq!(
                    events,
                    e.journal()
                        .iter()
                        .map(|x| x.events.len() as u64)
                        .sum::<u64>()
                );
                assert_eq!(head, e.state().head());
                assert_eq!(broken, None);
            }
            other => panic!("{other:?}"),
        }
    }
    for actor in [clerk("C1"), dr("H2"), coord("H2")] {
        assert_eq!(
            e.query(&actor, &Query::VerifyAudit, now())
                .unwrap_err()
                .code(),
            "not_permitted"
        );
    }
    // The head is the last entry's hash and the state's.
    assert_eq!(e.state().head(), e.journal().last().unwrap().hash);
    assert_eq!(e.state().seq(), e.journal().len() as u64);
}
