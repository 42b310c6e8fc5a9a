//! Chapters 5 and 6: the reports a clerk and an auditor read, and the
//! audit chain: verified, replayed, and caught when it is altered.

use super::guide::{Tour, wire};
use chrono::Duration;
use enlace_core::synth;
use enlace_core::{Answer, Engine, Event, Query, verify};

impl Tour {
    pub(super) fn reports(&mut self) -> Result<(), String> {
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

    pub(super) fn audit(&mut self) -> Result<(), String> {
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
}
