//! Chapters 1 to 3: the network, bookings and refusals at a rural clinic,
//! and the waitlist taking up a cancellation.

use super::guide::{Tour, booked};
use chrono::{DateTime, Duration, Utc, Weekday};
use enlace_core::priority::Priority;
use enlace_core::synth;
use enlace_core::{Answer, Command, Event, Query};

/// A booking of `beneficiary` at `start` in `agenda`.
fn booking_in(agenda: &str, start: DateTime<Utc>, beneficiary: String) -> Command {
    Command::BookAppointment {
        agenda: agenda.to_owned(),
        start,
        beneficiary,
        follow_up_of: None,
        overbook: false,
    }
}

impl Tour {
    pub(super) fn network(&mut self) -> Result<(), String> {
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
    pub(super) fn bookings(&mut self) -> Result<u32, String> {
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
        let booking = |start, beneficiary: String| booking_in(&agenda, start, beneficiary);
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
        self.refusals(now, &clinic, first, booked(&second_out)?)?;

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

    /// What the engine refuses at `clinic` (each refusal changes nothing):
    /// `full` is a slot taken, `appointment` one booked there.
    fn refusals(
        &mut self,
        now: DateTime<Utc>,
        clinic: &str,
        full: DateTime<Utc>,
        appointment: u32,
    ) -> Result<(), String> {
        let agenda = format!("{clinic}-A01");
        let b4 = synth::beneficiary_id(4);
        let booking = |start| booking_in(&agenda, start, b4.clone());
        self.say("  What the engine refuses (each refusal changes nothing):");
        self.refuse(
            "clinic-clerk",
            now,
            booking(full),
            "slot_full",
            "a second beneficiary in a one-place slot",
        )?;
        self.refuse(
            "hospital-clerk",
            now,
            booking(self.at_local(clinic, now, 4, 9, 0)?),
            "not_permitted",
            "a hospital clerk booking in the clinic's agenda",
        )?;
        self.refuse(
            "auditor",
            now,
            Command::CancelAppointment {
                appointment,
                reason: "test".into(),
            },
            "not_permitted",
            "an auditor cancelling (auditors read, never write)",
        )?;
        let sunday = self.next_local(clinic, now, Weekday::Sun, 10, 0)?;
        self.refuse(
            "clinic-clerk",
            now,
            booking(sunday),
            "outside_availability",
            "Sunday 10:00, outside the weekly rules",
        )?;
        let soon = self.at_local(clinic, now, 0, 8, 0)?;
        self.refuse(
            "clinic-clerk",
            soon - Duration::minutes(40),
            booking(soon),
            "too_short_notice",
            "today 08:00 booked at 07:20, inside the 60-minute notice",
        )?;
        let far = self.next_local(clinic, now + Duration::days(130), Weekday::Mon, 9, 0)?;
        self.refuse(
            "clinic-clerk",
            now,
            booking(far),
            "beyond_horizon",
            "a Monday more than 120 days ahead",
        )?;

        Ok(())
    }

    /// The waitlist takes up the cancellation of appointment `freed`.
    pub(super) fn waitlist(&mut self, freed: u32) -> Result<(), String> {
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
}
