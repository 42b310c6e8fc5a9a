//! Chapter 4: the whole referral loop of a high-risk pregnancy, from a
//! rural clinic to a hospital and back.

use super::guide::{Tour, booked, wire};
use chrono::{DateTime, Duration, Utc};
use enlace_core::facility::Tier;
use enlace_core::priority::Priority;
use enlace_core::referral::{
    CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination, FollowUpRequest,
};
use enlace_core::synth;
use enlace_core::{Answer, Command, Event, Query};

impl Tour {
    pub(super) fn referral_loop(&mut self) -> Result<(), String> {
        self.heading("Referral and counter-referral: a high-risk pregnancy");
        let now = self.spec.start + Duration::hours(2);
        let (referral, destination) = self.refer(now)?;
        let seen = self.admit(now, referral, &destination)?;
        self.close_the_loop(referral, seen)
    }

    /// The clinic asks where the patient can go and refers her; returns
    /// the referral and its destination (the tour's hospital).
    fn refer(&mut self, now: DateTime<Utc>) -> Result<(u32, String), String> {
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
        Ok((referral, destination))
    }

    /// The hospital reads its worklist, accepts, schedules the earliest
    /// place for referred patients and records the arrival; returns when
    /// the patient was seen.
    fn admit(
        &mut self,
        now: DateTime<Utc>,
        referral: u32,
        destination: &str,
    ) -> Result<DateTime<Utc>, String> {
        let b0 = synth::beneficiary_id(0);
        let Answer::Worklist(worklist) = self.ask(
            "hospital-coordinator",
            &Query::Worklist {
                facility: destination.to_owned(),
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
                self.local(destination, w.deadline),
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
            destination,
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
            .map(|s| self.local(destination, s.start))
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
        Ok(place.start)
    }

    /// The hospital sends the counter-referral back, the clinic
    /// acknowledges it and books the follow-up, and the referral's
    /// timeline is read.
    fn close_the_loop(&mut self, referral: u32, seen: DateTime<Utc>) -> Result<(), String> {
        let clinic = synth::facility_id(0);
        let b0 = synth::beneficiary_id(0);
        self.exec(
            "hospital-clinician",
            seen + Duration::minutes(40),
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
        let ack_at = seen + Duration::hours(3);
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

        let Answer::Referral(view) =
            self.ask("clinic-clinician", &Query::Referral { referral }, ack_at)?
        else {
            return Err("referral query gave another answer".into());
        };
        let r = &view.referral;
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
}
