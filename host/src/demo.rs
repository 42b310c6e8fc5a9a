//! `enlace-host demo`: a guided tour of the engine on the seeded synthetic
//! network.
//!
//! This is a demonstration, not the server. It plays one morning of a small
//! regional network in memory — bookings, refusals, a reschedule, a
//! cancellation that the waitlist takes up, and the whole referral loop of a
//! high-risk pregnancy from a rural clinic to a hospital and back — then
//! reads the reports and checks the audit chain. The clock is part of the
//! seeded network, nothing is read or written, and every run prints the same
//! text. Each step goes through the engine's one door (`Engine::execute` or
//! `Engine::query`), exactly as a face would.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use enlace_core::facility::Tier;
use enlace_core::priority::Priority;
use enlace_core::query::FreeSlot;
use enlace_core::referral::{
    CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination, FollowUpRequest,
};
use enlace_core::synth::{self, Spec};
use enlace_core::{Actor, Answer, Command, Engine, Event, Outcome, Query, Request, verify};
use std::collections::HashMap;

/// Plays the demo and returns its narrative, or what went wrong if the
/// engine did not behave as the demo expects.
pub fn narrate() -> Result<String, String> {
    let mut d = Demo::seed()?;
    d.say("Enlace demo: the scheduling and referral engine on a seeded synthetic network.");
    d.say(
        "Everything below is synthetic (no real person, facility or agreement) and happens in \
         memory; times are shown in each facility's own time zone.",
    );
    d.network()?;
    let first = d.bookings()?;
    d.waitlist(first)?;
    d.referral_loop()?;
    d.reports()?;
    d.audit()?;
    d.say("");
    d.say(
        "That was a demo: a synthetic network, a fixed clock, nothing saved. Every \
         decision above was made by enlace-core; run it again and the output is identical.",
    );
    Ok(d.out)
}

/// The demo's engine, who is who, and the text written so far.
struct Demo {
    spec: Spec,
    engine: Engine,
    actors: HashMap<String, Actor>,
    /// Facility id → its IANA zone, to print local times.
    zones: HashMap<String, Tz>,
    /// Agenda id → facility id.
    agenda_facility: HashMap<String, String>,
    /// Beneficiary id → name.
    names: HashMap<String, String>,
    out: String,
    section: u32,
}

impl Demo {
    /// Executes the synthetic network's reference data as its admin would.
    fn seed() -> Result<Demo, String> {
        let spec = Spec::demo();
        let mut engine = Engine::new();
        let mut names = HashMap::new();
        for r in synth::reference(&spec) {
            if let Command::RegisterBeneficiary { beneficiary } = &r.command {
                names.insert(beneficiary.id.clone(), beneficiary.name.clone());
            }
            let what = r.command.name();
            engine
                .execute(r)
                .map_err(|e| format!("seeding the network: {what}: {e}"))?;
        }
        let actors = synth::demo_actors(&spec).into_iter().collect();
        let mut d = Demo {
            spec,
            engine,
            actors,
            zones: HashMap::new(),
            agenda_facility: HashMap::new(),
            names,
            out: String::new(),
            section: 0,
        };
        let now = d.spec.start;
        if let Answer::Facilities(list) = d.ask("admin", &Query::Facilities, now)? {
            for f in list {
                let tz = f
                    .time_zone
                    .parse()
                    .map_err(|_| format!("facility {} has zone {}", f.id, f.time_zone))?;
                d.zones.insert(f.id, tz);
            }
        }
        if let Answer::Agendas(list) = d.ask("admin", &Query::Agendas { facility: None }, now)? {
            for a in list {
                d.agenda_facility.insert(a.id, a.facility);
            }
        }
        Ok(d)
    }

    // --- the story -------------------------------------------------------

    fn network(&mut self) -> Result<(), String> {
        self.heading("The network");
        let now = self.spec.start;
        self.say(format!(
            "The network admin set the network up at {} UTC, in {} journal entries:",
            now.format("%Y-%m-%d %H:%M"),
            self.engine.journal().len()
        ));
        let Answer::Facilities(facilities) = self.ask("admin", &Query::Facilities, now)? else {
            return Err("facilities query gave another answer".into());
        };
        for f in &facilities {
            self.say(format!(
                "  {} {} — tier {}, {}, region {}, {}; services {}",
                f.id,
                f.name,
                f.tier.number(),
                f.agency,
                f.region,
                f.time_zone,
                f.services.join(", ")
            ));
        }
        let Answer::Agendas(agendas) =
            self.ask("admin", &Query::Agendas { facility: None }, now)?
        else {
            return Err("agendas query gave another answer".into());
        };
        if let Some(a) = agendas.first() {
            let shares: Vec<u8> = agendas.iter().map(|a| a.referral_share_percent).collect();
            self.say(format!(
                "  {} agendas, Monday to Friday 08:00–12:00 and 13:00–17:00 in each facility's \
                 own time zone; {} place a slot (+{} overbooking), {} min notice, {} days ahead; \
                 hospitals keep {} % of each day's places for referred patients.",
                agendas.len(),
                a.capacity,
                a.overbooking,
                a.min_notice_minutes,
                a.horizon_days,
                shares.iter().max().copied().unwrap_or(0)
            ));
        }
        self.say(format!(
            "  {} beneficiaries covered by programme {}; agreement convenio-126 lets {} refer \
             them to {} hospitals (tiers 2 and 3), free of charge for the beneficiary.",
            self.names.len(),
            synth::PROGRAMME,
            synth::CLINIC_AGENCY,
            synth::HOSPITAL_AGENCY
        ));
        let people: Vec<String> = ["clinic-clerk", "clinic-clinician", "hospital-coordinator"]
            .iter()
            .map(|w| self.who(w))
            .collect();
        self.say(format!(
            "  People in this story: {}, and more below.",
            people.join(", ")
        ));
        Ok(())
    }

    /// Books, refuses and reschedules; returns the first appointment booked.
    fn bookings(&mut self) -> Result<u32, String> {
        self.heading("Booking at a rural clinic");
        let now = self.spec.start + Duration::hours(1);
        let clinic = synth::facility_id(0);
        let agenda = format!("{clinic}-A01");
        let slots = self.free_slots(
            "clinic-clerk",
            "prenatal",
            &clinic,
            now + Duration::days(1),
            3,
            false,
            now,
        )?;
        let [first, second, third] = slots.as_slice() else {
            return Err(format!("expected 3 free prenatal slots at {clinic}"));
        };
        let (first, second, third) = (first.start, second.start, third.start);
        let list: Vec<String> = slots.iter().map(|s| self.local(&clinic, s.start)).collect();
        self.say(format!(
            "  Earliest free prenatal slots at {clinic} from tomorrow (computed from the rules, \
             never stored): {}",
            list.join("; ")
        ));
        let b = |i| synth::beneficiary_id(i);
        let booking = |start, beneficiary: String| Command::BookAppointment {
            agenda: agenda.clone(),
            start,
            beneficiary,
            follow_up_of: None,
            overbook: false,
        };
        let first_out = self.exec(
            "clinic-clerk",
            now,
            Some("demo-booking-1"),
            booking(first, b(1)),
            &format!("books {} for prenatal care", self.name(&b(1))),
        )?;
        let entries = self.engine.journal().len();
        let retry = self
            .engine
            .execute(self.request(
                "clinic-clerk",
                now,
                Some("demo-booking-1"),
                booking(first, b(1)),
            )?)
            .map_err(|e| format!("retry: {e}"))?;
        if !retry.replayed || retry.seq != first_out.seq || self.engine.journal().len() != entries {
            return Err("a retry with the same idempotency key changed something".into());
        }
        self.say(format!(
            "  The answer was lost, so the clerk's screen retries with the same idempotency key \
             `demo-booking-1`: the engine answers from journal entry {} (replayed = {}) and \
             books nothing twice.",
            retry.seq, retry.replayed
        ));
        let second_out = self.exec(
            "clinic-clerk",
            now,
            None,
            booking(second, b(2)),
            &format!("books {}", self.name(&b(2))),
        )?;
        let third_out = self.exec(
            "clinic-clerk",
            now,
            None,
            booking(third, b(3)),
            &format!("books {}", self.name(&b(3))),
        )?;

        self.say("  What the engine refuses (each refusal changes nothing):");
        self.refuse(
            "clinic-clerk",
            now,
            booking(first, b(4)),
            "slot_full",
            "a second beneficiary in a one-place slot",
        )?;
        self.refuse(
            "hospital-clerk",
            now,
            booking(self.at_local(&clinic, now, 4, 9, 0)?, b(4)),
            "not_permitted",
            "a hospital clerk booking in the clinic's agenda",
        )?;
        self.refuse(
            "auditor",
            now,
            Command::CancelAppointment {
                appointment: booked(&second_out)?,
                reason: "test".into(),
            },
            "not_permitted",
            "an auditor cancelling (auditors read, never write)",
        )?;
        let sunday = self.next_local(&clinic, now, Weekday::Sun, 10, 0)?;
        self.refuse(
            "clinic-clerk",
            now,
            booking(sunday, b(4)),
            "outside_availability",
            "Sunday 10:00, outside the weekly rules",
        )?;
        let soon = self.at_local(&clinic, now, 0, 8, 0)?;
        self.refuse(
            "clinic-clerk",
            soon - Duration::minutes(40),
            booking(soon, b(4)),
            "too_short_notice",
            "today 08:00 booked at 07:20, inside the 60-minute notice",
        )?;
        let far = self.next_local(&clinic, now + Duration::days(130), Weekday::Mon, 9, 0)?;
        self.refuse(
            "clinic-clerk",
            now,
            booking(far, b(4)),
            "beyond_horizon",
            "a Monday more than 120 days ahead",
        )?;

        let wednesday = self.next_local(&clinic, now, Weekday::Wed, 9, 0)?;
        self.exec(
            "clinic-clerk",
            now,
            None,
            Command::RescheduleAppointment {
                appointment: booked(&third_out)?,
                agenda: None,
                start: wednesday,
                reason: "asked for Wednesday".into(),
            },
            &format!("moves {}'s appointment to Wednesday", self.name(&b(3))),
        )?;
        self.say("  The old appointment stays in the record, linked to the new one.");
        booked(&first_out)
    }

    /// The waitlist takes up the cancellation of appointment `freed`.
    fn waitlist(&mut self, freed: u32) -> Result<(), String> {
        self.heading("The waitlist takes up a cancellation");
        let now = self.spec.start + Duration::minutes(90);
        let clinic = synth::facility_id(0);
        let (b5, b6, b1) = (
            synth::beneficiary_id(5),
            synth::beneficiary_id(6),
            synth::beneficiary_id(1),
        );
        self.exec(
            "clinic-clerk",
            now,
            None,
            Command::JoinWaitlist {
                beneficiary: b5.clone(),
                service: "prenatal".into(),
                facility: Some(clinic.clone()),
                priority: Priority::Routine,
            },
            &format!("puts {} on the prenatal waitlist", self.name(&b5)),
        )?;
        self.exec(
            "clinic-clerk",
            now,
            None,
            Command::JoinWaitlist {
                beneficiary: b6.clone(),
                service: "prenatal".into(),
                facility: None,
                priority: Priority::Urgent,
            },
            &format!(
                "puts {} on it too, later but urgent, at any facility",
                self.name(&b6)
            ),
        )?;
        let out = self.exec(
            "clinic-clerk",
            now,
            None,
            Command::CancelAppointment {
                appointment: freed,
                reason: "the beneficiary will be travelling".into(),
            },
            &format!("cancels {}'s appointment #{freed}", self.name(&b1)),
        )?;
        let Some((agenda, start)) = out.events.iter().find_map(|e| match e {
            Event::WaitlistSlotOffered {
                beneficiary,
                agenda,
                start,
                ..
            } if *beneficiary == b6 => Some((agenda.clone(), *start)),
            _ => None,
        }) else {
            return Err("the freed place was not offered to the urgent entry".into());
        };
        self.say(
            "  The urgent entry is offered the place before the routine one that joined first.",
        );
        self.exec(
            "clinic-clerk",
            now,
            None,
            Command::BookAppointment {
                agenda,
                start,
                beneficiary: b6.clone(),
                follow_up_of: None,
                overbook: false,
            },
            &format!(
                "{} accepts: the clerk books the offered slot",
                self.name(&b6)
            ),
        )?;
        if let Answer::Waitlist(list) = self.ask(
            "clinic-clerk",
            &Query::Waitlist {
                service: Some("prenatal".into()),
                facility: None,
            },
            now,
        )? {
            let left: Vec<String> = list
                .iter()
                .map(|w| {
                    format!(
                        "#{} {} ({})",
                        w.id,
                        self.name(&w.beneficiary),
                        w.priority.as_str()
                    )
                })
                .collect();
            self.say(format!("  Still waiting: {}", left.join(", ")));
        }
        Ok(())
    }

    fn referral_loop(&mut self) -> Result<(), String> {
        self.heading("Referral and counter-referral: a high-risk pregnancy");
        let now = self.spec.start + Duration::hours(2);
        let clinic = synth::facility_id(0);
        let b0 = synth::beneficiary_id(0);
        let Answer::Routing(routing) = self.ask(
            "clinic-clinician",
            &Query::SuggestDestinations {
                beneficiary: b0.clone(),
                service: "obs-hr".into(),
                tier: Tier::Second,
                priority: Priority::Urgent,
            },
            now,
        )?
        else {
            return Err("routing query gave another answer".into());
        };
        self.say(format!(
            "  {} examines {} (severe pre-eclampsia) and asks where she can go (tier 2, \
             high-risk obstetrics, urgent):",
            self.who("clinic-clinician"),
            self.name(&b0)
        ));
        for s in &routing.suggested {
            let line = format!(
                "    suggested {} {} ({}), under {}, earliest referral place {}",
                s.facility,
                s.name,
                s.agency,
                s.agreement
                    .as_deref()
                    .unwrap_or("no agreement (same agency)"),
                self.local(&s.facility, s.earliest)
            );
            self.say(line);
        }
        for n in &routing.not_suggested {
            self.say(format!(
                "    not suggested {} {}: {}",
                n.facility,
                n.name,
                wire(&n.reason)
            ));
        }
        let out = self.exec(
            "clinic-clinician",
            now,
            None,
            Command::CreateReferral {
                beneficiary: b0.clone(),
                service: "obs-hr".into(),
                destination: Destination::Tier(Tier::Second),
                priority: Priority::Urgent,
                reason: ClinicalReason {
                    icd10: vec!["O14.1".into()],
                    text: "Severe pre-eclampsia at 32 weeks".into(),
                },
                attachments: vec![],
            },
            "refers her to the best tier-2 hospital",
        )?;
        let Some((referral, destination)) = out.events.iter().find_map(|e| match e {
            Event::ReferralCreated {
                referral,
                destination,
                ..
            } => Some((*referral, destination.clone())),
            _ => None,
        }) else {
            return Err("no referral was created".into());
        };
        let coordinator_at = self.actor("hospital-coordinator")?.facility.clone();
        if coordinator_at.as_deref() != Some(destination.as_str()) {
            return Err(format!(
                "the referral went to {destination}, not to the demo hospital"
            ));
        }

        let Answer::Worklist(worklist) = self.ask(
            "hospital-coordinator",
            &Query::Worklist {
                facility: destination.clone(),
                limit: 10,
                offset: 0,
            },
            now,
        )?
        else {
            return Err("worklist query gave another answer".into());
        };
        self.say(format!(
            "  The hospital's worklist ({} open, {} overdue), most pressing first:",
            worklist.total, worklist.overdue
        ));
        for w in &worklist.items {
            let line = format!(
                "    referral #{} {} {} from {}, {} — {} due {} ({} h left)",
                w.referral,
                self.name(&w.beneficiary),
                w.priority.as_str(),
                w.origin,
                w.status.as_str(),
                w.due,
                self.local(&destination, w.deadline),
                w.minutes_left / 60
            );
            self.say(line);
        }
        let accept_at = now + Duration::minutes(45);
        self.exec(
            "hospital-coordinator",
            accept_at,
            None,
            Command::AcceptReferral {
                referral,
                note: "Admit to the high-risk obstetrics clinic".into(),
            },
            "accepts the referral",
        )?;
        let places = self.free_slots(
            "hospital-coordinator",
            "obs-hr",
            &destination,
            accept_at,
            3,
            true,
            accept_at,
        )?;
        let Some(place) = places.first().cloned() else {
            return Err("no referral place at the hospital".into());
        };
        let list: Vec<String> = places
            .iter()
            .map(|s| self.local(&destination, s.start))
            .collect();
        self.say(format!(
            "  Places for referred patients at {destination} (the reserved share counts as \
             free for them): {}",
            list.join("; ")
        ));
        let out = self.exec(
            "hospital-coordinator",
            accept_at,
            None,
            Command::ScheduleReferral {
                referral,
                agenda: place.agenda.clone(),
                start: place.start,
            },
            "schedules the earliest",
        )?;
        let appointment = booked(&out)?;
        self.exec(
            "hospital-clerk",
            place.start,
            None,
            Command::MarkArrived { appointment },
            &format!("records {}'s arrival", self.name(&b0)),
        )?;
        self.exec(
            "hospital-clinician",
            place.start + Duration::minutes(40),
            None,
            Command::SendCounterReferral {
                referral,
                counter_referral: CounterReferral {
                    summary: CareSummary {
                        diagnoses: vec!["O14.1".into()],
                        procedures: vec!["Magnesium sulfate".into(), "Obstetric ultrasound".into()],
                        outcome: CareOutcome::Improved,
                        text: "Blood pressure controlled; fetal growth normal.".into(),
                    },
                    instructions: "Blood pressure twice a week; return if headache or oedema."
                        .into(),
                    follow_up: Some(FollowUpRequest {
                        service: "prenatal".into(),
                        within_days: 7,
                        note: String::new(),
                    }),
                },
            },
            "treats her and sends the counter-referral back",
        )?;
        let ack_at = place.start + Duration::hours(3);
        self.exec(
            "clinic-clinician",
            ack_at,
            None,
            Command::AcknowledgeCounterReferral { referral },
            "reads and acknowledges it",
        )?;
        let follow = self.free_slots(
            "clinic-clerk",
            "prenatal",
            &clinic,
            ack_at + Duration::days(1),
            1,
            false,
            ack_at,
        )?;
        let Some(slot) = follow.first().cloned() else {
            return Err("no prenatal slot for the follow-up".into());
        };
        self.exec(
            "clinic-clerk",
            ack_at,
            None,
            Command::BookAppointment {
                agenda: slot.agenda.clone(),
                start: slot.start,
                beneficiary: b0.clone(),
                follow_up_of: Some(referral),
                overbook: false,
            },
            "books the follow-up the hospital asked for",
        )?;

        let Answer::Referral(r) =
            self.ask("clinic-clinician", &Query::Referral { referral }, ack_at)?
        else {
            return Err("referral query gave another answer".into());
        };
        self.say(format!(
            "  Referral #{} is now {}. Its timeline:",
            r.id,
            r.status.as_str()
        ));
        for step in &r.timeline {
            let place = step.facility.clone().unwrap_or_default();
            let line = format!(
                "    {:>3}  {}  {:<12} {:<11} {:<30} → {}",
                step.seq,
                self.local(&place, step.at),
                step.user,
                step.role.as_str(),
                step.event,
                step.status.as_str()
            );
            self.say(line);
        }
        Ok(())
    }

    fn reports(&mut self) -> Result<(), String> {
        self.heading("Reports");
        let now = self.spec.start + Duration::days(3);
        let clinic = synth::facility_id(0);
        let agenda = format!("{clinic}-A01");
        let b0 = synth::beneficiary_id(0);
        if let Answer::Appointments(list) = self.ask(
            "clinic-clerk",
            &Query::BeneficiaryAppointments {
                beneficiary: b0.clone(),
            },
            now,
        )? {
            self.say(format!("  {}'s appointments:", self.name(&b0)));
            for a in &list {
                let mut line = format!(
                    "    #{} {} ({}) {} — {}",
                    a.id,
                    a.agenda,
                    a.service,
                    self.local(&a.facility, a.start),
                    a.status.as_str()
                );
                if let Some(r) = a.referral {
                    line.push_str(&format!(", for referral #{r}"));
                }
                self.say(line);
            }
        }
        let monday = self.local_date(&clinic, self.spec.start)?;
        if let Answer::AgendaView(days) = self.ask(
            "clinic-clerk",
            &Query::AgendaView {
                agenda: agenda.clone(),
                from: monday,
                days: 7,
            },
            now,
        )? {
            let week: Vec<String> = days
                .iter()
                .filter(|d| d.places > 0)
                .map(|d| format!("{} {}/{}", d.date.format("%a"), d.taken, d.places))
                .collect();
            self.say(format!(
                "  {agenda} this week, places taken/offered: {}",
                week.join(", ")
            ));
        }
        if let Answer::Utilization(u) = self.ask(
            "clinic-clerk",
            &Query::Utilization {
                agenda: agenda.clone(),
                from: monday,
                to: monday + Duration::days(6),
            },
            now,
        )? {
            self.say(format!(
                "  Utilization of {agenda} this week: {} places, {} booked, fill rate {:.1} %, \
                 no-show rate {:.1} %",
                u.places,
                u.booked,
                u.fill_rate * 100.0,
                u.no_show_rate * 100.0
            ));
        }
        if let Answer::Conditionality(rows) = self.ask(
            "auditor",
            &Query::Conditionality {
                programme: synth::PRENATAL_PROGRAMME.into(),
                service: "prenatal".into(),
                from: monday,
                to: monday + Duration::days(30),
            },
            now,
        )? {
            let mut counts: Vec<(String, usize)> = Vec::new();
            for row in &rows {
                let status = wire(&row.status);
                match counts.iter_mut().find(|(s, _)| *s == status) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((status, 1)),
                }
            }
            let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            self.say(format!(
                "  Prenatal-visit evidence for programme {} (March): {} beneficiaries — {}",
                synth::PRENATAL_PROGRAMME,
                rows.len(),
                counts.join(", ")
            ));
        }
        Ok(())
    }

    fn audit(&mut self) -> Result<(), String> {
        self.heading("Audit");
        let now = self.spec.start + Duration::days(3);
        let Answer::Verification(v) = self.ask("auditor", &Query::VerifyAudit, now)? else {
            return Err("verify query gave another answer".into());
        };
        if v.broken.is_some() {
            return Err(format!("the live journal does not verify: {:?}", v.broken));
        }
        self.say(format!(
            "  {} checks the hash chain: {} entries, {} events, unbroken; head {}…",
            self.who("auditor"),
            v.entries,
            v.events,
            &v.head[..16.min(v.head.len())]
        ));
        if let Answer::Entries(entries) = self.ask(
            "auditor",
            &Query::AuditTrail {
                facility: None,
                referral: Some(1),
                after: 0,
                limit: 100,
            },
            now,
        )? {
            let steps: Vec<String> = entries
                .iter()
                .map(|e| format!("{} {}", e.seq, e.command))
                .collect();
            self.say(format!(
                "  Journal entries about referral #1: {}",
                steps.join(", ")
            ));
        }
        let journal = self.engine.journal().to_vec();
        let replayed = Engine::from_entries(journal.clone())
            .map_err(|b| format!("the journal does not replay: {b:?}"))?;
        if replayed.state().fingerprint() != self.engine.state().fingerprint() {
            return Err("replaying the journal gave another state".into());
        }
        self.say(format!(
            "  Replaying the {} entries into a fresh engine gives the same state \
             (fingerprint {:016x}).",
            journal.len(),
            replayed.state().fingerprint()
        ));
        let mut forged = journal.clone();
        let Some(target) = forged.iter_mut().find(|e| {
            e.events
                .iter()
                .any(|ev| matches!(ev, Event::AppointmentCancelled { .. }))
        }) else {
            return Err("no cancellation in the journal".into());
        };
        for ev in &mut target.events {
            if let Event::AppointmentCancelled { reason, .. } = ev {
                *reason = "cancelled by the clinic".into();
            }
        }
        let Some(b) = verify(&forged).broken else {
            return Err("an altered journal still verifies".into());
        };
        self.say(format!(
            "  Someone rewrites the cancellation reason in entry {}: verification stops at \
             entry {} ({}), and the engine refuses to load that journal.",
            b.seq, b.seq, b.reason
        ));
        if Engine::from_entries(forged).is_ok() {
            return Err("the engine loaded an altered journal".into());
        }
        let mut cut = journal;
        cut.remove(cut.len() / 2);
        if let Some(b) = verify(&cut).broken {
            self.say(format!(
                "  Someone deletes an entry instead: verification stops at entry {} ({}).",
                b.seq, b.reason
            ));
        } else {
            return Err("a journal with an entry removed still verifies".into());
        }
        Ok(())
    }

    // --- helpers -----------------------------------------------------------

    fn heading(&mut self, title: &str) {
        self.section += 1;
        let line = format!("{}. {title}", self.section);
        self.say("");
        self.say(&line);
        self.say("-".repeat(line.chars().count()));
    }

    fn say(&mut self, text: impl AsRef<str>) {
        self.out.push_str(text.as_ref());
        self.out.push('\n');
    }

    fn actor(&self, who: &str) -> Result<&Actor, String> {
        self.actors
            .get(who)
            .ok_or_else(|| format!("no demo actor {who}"))
    }

    /// `rosa.clerk (clerk, F0001)`.
    fn who(&self, who: &str) -> String {
        match self.actors.get(who) {
            Some(a) => match &a.facility {
                Some(f) => format!("{} ({}, {f})", a.user, a.role.as_str()),
                None => format!("{} ({}, {})", a.user, a.role.as_str(), a.agency),
            },
            None => who.to_owned(),
        }
    }

    fn name(&self, beneficiary: &str) -> String {
        self.names
            .get(beneficiary)
            .cloned()
            .unwrap_or_else(|| beneficiary.to_owned())
    }

    fn zone(&self, facility: &str) -> Tz {
        self.zones.get(facility).copied().unwrap_or(chrono_tz::UTC)
    }

    /// `Tue 03 Mar 08:00 CST` in the facility's zone (UTC for none).
    fn local(&self, facility: &str, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.zone(facility))
            .format("%a %d %b %H:%M %Z")
            .to_string()
    }

    fn local_date(&self, facility: &str, t: DateTime<Utc>) -> Result<NaiveDate, String> {
        Ok(t.with_timezone(&self.zone(facility)).date_naive())
    }

    /// The instant of `hour:minute` local time, `days` after the local date of `t`.
    fn at_local(
        &self,
        facility: &str,
        t: DateTime<Utc>,
        days: i64,
        hour: u32,
        minute: u32,
    ) -> Result<DateTime<Utc>, String> {
        let date = self.local_date(facility, t)? + Duration::days(days);
        let naive = date.and_hms_opt(hour, minute, 0).ok_or("bad local time")?;
        self.zone(facility)
            .from_local_datetime(&naive)
            .earliest()
            .map(|l| l.with_timezone(&Utc))
            .ok_or_else(|| format!("{naive} does not exist in {facility}'s zone"))
    }

    /// The first `weekday` strictly after the local date of `t`, at `hour:minute`.
    fn next_local(
        &self,
        facility: &str,
        t: DateTime<Utc>,
        weekday: Weekday,
        hour: u32,
        minute: u32,
    ) -> Result<DateTime<Utc>, String> {
        let today = self.local_date(facility, t)?.weekday();
        let ahead =
            (7 + weekday.num_days_from_monday() as i64 - today.num_days_from_monday() as i64 - 1)
                % 7
                + 1;
        self.at_local(facility, t, ahead, hour, minute)
    }

    fn request(
        &self,
        who: &str,
        at: DateTime<Utc>,
        key: Option<&str>,
        command: Command,
    ) -> Result<Request, String> {
        Ok(Request {
            actor: self.actor(who)?.clone(),
            at,
            key: key.map(str::to_owned),
            command,
        })
    }

    /// Executes a command the story needs to succeed, and tells what happened.
    fn exec(
        &mut self,
        who: &str,
        at: DateTime<Utc>,
        key: Option<&str>,
        command: Command,
        what: &str,
    ) -> Result<Outcome, String> {
        let name = command.name();
        let req = self.request(who, at, key, command)?;
        let place = req.actor.facility.clone().unwrap_or_default();
        let out = self
            .engine
            .execute(req)
            .map_err(|e| format!("{who} could not {name}: {} ({e})", e.code()))?;
        let line = format!("  [{}] {} {what}", self.local(&place, at), self.who(who));
        self.say(line);
        for e in &out.events {
            let line = format!("      → {}: {}", e.name(), self.describe(e));
            self.say(line);
        }
        Ok(out)
    }

    /// Executes a command the engine must refuse with `code`, and checks
    /// that the refusal changed nothing.
    fn refuse(
        &mut self,
        who: &str,
        at: DateTime<Utc>,
        command: Command,
        code: &str,
        what: &str,
    ) -> Result<(), String> {
        let name = command.name();
        let req = self.request(who, at, None, command)?;
        let before = self.engine.state().fingerprint();
        match self.engine.execute(req) {
            Ok(_) => Err(format!(
                "{who}'s {name} ({what}) was accepted; expected {code}"
            )),
            Err(e) if e.code() == code => {
                if self.engine.state().fingerprint() != before {
                    return Err(format!("the refused {name} changed the state"));
                }
                self.say(format!("    ✗ {what}: {code} — {e}"));
                Ok(())
            }
            Err(e) => Err(format!(
                "{who}'s {name} ({what}) was refused with {}, expected {code}: {e}",
                e.code()
            )),
        }
    }

    fn ask(&self, who: &str, q: &Query, now: DateTime<Utc>) -> Result<Answer, String> {
        self.engine
            .query(self.actor(who)?, q, now)
            .map_err(|e| format!("{who}'s query failed: {} ({e})", e.code()))
    }

    #[allow(clippy::too_many_arguments)]
    fn free_slots(
        &self,
        who: &str,
        service: &str,
        facility: &str,
        from: DateTime<Utc>,
        limit: u16,
        for_referral: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<FreeSlot>, String> {
        let q = Query::FreeSlots {
            service: service.into(),
            region: None,
            tier: None,
            facilities: vec![facility.into()],
            from,
            to: from + Duration::days(14),
            limit,
            for_referral,
        };
        match self.ask(who, &q, now)? {
            Answer::FreeSlots(slots) => Ok(slots),
            _ => Err("free-slot query gave another answer".into()),
        }
    }

    /// One line about an event, with names and local times.
    fn describe(&self, e: &Event) -> String {
        let referral_place = |r: u32| {
            self.engine
                .state()
                .referral(r)
                .map(|r| r.destination.clone())
                .unwrap_or_default()
        };
        match e {
            Event::AppointmentBooked {
                appointment,
                agenda,
                facility,
                beneficiary,
                start,
                referral,
                follow_up_of,
                rescheduled_from,
                overbooked,
                ..
            } => {
                let mut s = format!(
                    "#{appointment} {} at {agenda}, {}",
                    self.name(beneficiary),
                    self.local(facility, *start)
                );
                if let Some(r) = referral {
                    s.push_str(&format!(", for referral #{r}"));
                }
                if let Some(r) = follow_up_of {
                    s.push_str(&format!(", follow-up of referral #{r}"));
                }
                if let Some(old) = rescheduled_from {
                    s.push_str(&format!(", replacing #{old}"));
                }
                if *overbooked {
                    s.push_str(", overbooked");
                }
                s
            }
            Event::AppointmentCancelled {
                appointment,
                reason,
            } => format!("#{appointment}, “{reason}”"),
            Event::AppointmentRescheduled {
                appointment,
                to,
                reason,
            } => format!("#{appointment} → #{to}, “{reason}”"),
            Event::AppointmentArrived { appointment }
            | Event::AppointmentFulfilled { appointment }
            | Event::AppointmentNoShow { appointment } => format!("#{appointment}"),
            Event::WaitlistJoined {
                entry,
                beneficiary,
                service,
                facility,
                priority,
            } => format!(
                "entry #{entry}, {} for {service} at {}, {}",
                self.name(beneficiary),
                facility.as_deref().unwrap_or("any facility"),
                priority.as_str()
            ),
            Event::WaitlistSlotOffered {
                entry,
                beneficiary,
                agenda,
                start,
            } => {
                let facility = self
                    .agenda_facility
                    .get(agenda)
                    .cloned()
                    .unwrap_or_default();
                format!(
                    "entry #{entry} ({}) is offered {agenda} {} — a face turns this into a \
                     notification",
                    self.name(beneficiary),
                    self.local(&facility, *start)
                )
            }
            Event::WaitlistSatisfied { entry, appointment } => {
                format!("entry #{entry} by appointment #{appointment}")
            }
            Event::ReferralCreated {
                referral,
                service,
                priority,
                origin,
                destination,
                agreement,
                accept_due,
                appointment_due,
                ..
            } => format!(
                "#{referral} {service}, {}, {origin} → {destination} under {}; answer due {}, \
                 first appointment due {}",
                priority.as_str(),
                agreement.as_deref().unwrap_or("no agreement (same agency)"),
                self.local(destination, *accept_due),
                self.local(destination, *appointment_due)
            ),
            Event::ReferralAccepted { referral, note } => format!("#{referral}, “{note}”"),
            Event::ReferralScheduled {
                referral,
                appointment,
                start,
            } => format!(
                "#{referral} with appointment #{appointment}, {}",
                self.local(&referral_place(*referral), *start)
            ),
            Event::CounterReferralSent {
                referral,
                counter_referral,
            } => {
                let s = &counter_referral.summary;
                let mut line = format!(
                    "#{referral}: {} ({}), “{}”",
                    wire(&s.outcome),
                    s.diagnoses.join(", "),
                    counter_referral.instructions
                );
                if let Some(f) = &counter_referral.follow_up {
                    line.push_str(&format!(
                        "; asks for a {} visit within {} days",
                        f.service, f.within_days
                    ));
                }
                line
            }
            Event::CounterReferralAcknowledged { referral } => {
                format!("#{referral}: the loop is closed")
            }
            Event::FollowUpBooked {
                referral,
                appointment,
            } => format!("referral #{referral} → appointment #{appointment}"),
            Event::ReferralReceived { referral } | Event::ReferralInProgress { referral } => {
                format!("#{referral}")
            }
            other => serde_json::to_string(other).unwrap_or_default(),
        }
    }
}

/// The id of the appointment an outcome booked.
fn booked(out: &Outcome) -> Result<u32, String> {
    out.events
        .iter()
        .find_map(|e| match e {
            Event::AppointmentBooked { appointment, .. } => Some(*appointment),
            _ => None,
        })
        .ok_or_else(|| "nothing was booked".into())
}

/// The wire name of a value that serialises as a string (an enum variant).
fn wire<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::narrate;

    #[test]
    fn the_demo_plays_the_whole_story() {
        let text = narrate().unwrap_or_else(|e| panic!("the demo failed: {e}"));
        for expected in [
            "replayed = true",
            "slot_full",
            "not_permitted",
            "outside_availability",
            "too_short_notice",
            "beyond_horizon",
            "appointment_rescheduled",
            "waitlist_slot_offered",
            "waitlist_satisfied",
            "referral_created",
            "counter_referral_acknowledged",
            "follow_up_booked",
            "Referral #1 is now completed",
            "unbroken",
            "hash_mismatch",
            "sequence_gap",
        ] {
            assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
        }
    }

    #[test]
    fn the_demo_is_deterministic() {
        assert_eq!(narrate(), narrate());
    }
}
