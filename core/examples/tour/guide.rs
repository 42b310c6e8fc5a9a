//! The tour's guide: the engine, the people of the synthetic network and
//! the text told so far, and how each step is told (local times, names,
//! one line per event).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use enlace_core::query::FreeSlot;
use enlace_core::synth::{self, Spec};
use enlace_core::{Actor, Answer, Command, Engine, Event, Outcome, Query, Request};
use std::collections::HashMap;

/// The tour's engine, who is who, and the text written so far. The
/// chapters (`scheduling`, `referral`, `reports`) are `impl Tour` blocks
/// beside this one.
pub(super) struct Tour {
    pub(super) spec: Spec,
    pub(super) engine: Engine,
    pub(super) actors: HashMap<String, Actor>,
    /// Facility id → its IANA zone, to print local times.
    pub(super) zones: HashMap<String, Tz>,
    /// Agenda id → facility id.
    pub(super) agenda_facility: HashMap<String, String>,
    /// Beneficiary id → name.
    pub(super) names: HashMap<String, String>,
    pub(super) out: String,
    pub(super) section: u32,
}

impl Tour {
    /// Executes the synthetic network's reference data as its admin would.
    pub(super) fn seed() -> Result<Tour, String> {
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
        let mut d = Tour {
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

    pub(super) fn heading(&mut self, title: &str) {
        self.section += 1;
        let line = format!("{}. {title}", self.section);
        self.say("");
        self.say(&line);
        self.say("-".repeat(line.chars().count()));
    }

    pub(super) fn say(&mut self, text: impl AsRef<str>) {
        self.out.push_str(text.as_ref());
        self.out.push('\n');
    }

    pub(super) fn actor(&self, who: &str) -> Result<&Actor, String> {
        self.actors
            .get(who)
            .ok_or_else(|| format!("no demo actor {who}"))
    }

    /// `rosa.clerk (clerk, F0001)`.
    pub(super) fn who(&self, who: &str) -> String {
        match self.actors.get(who) {
            Some(a) => match &a.facility {
                Some(f) => format!("{} ({}, {f})", a.user, a.role.as_str()),
                None => format!("{} ({}, {})", a.user, a.role.as_str(), a.agency),
            },
            None => who.to_owned(),
        }
    }

    pub(super) fn name(&self, beneficiary: &str) -> String {
        self.names
            .get(beneficiary)
            .cloned()
            .unwrap_or_else(|| beneficiary.to_owned())
    }

    pub(super) fn zone(&self, facility: &str) -> Tz {
        self.zones.get(facility).copied().unwrap_or(chrono_tz::UTC)
    }

    /// `Tue 03 Mar 08:00 CST` in the facility's zone (UTC for none).
    pub(super) fn local(&self, facility: &str, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.zone(facility))
            .format("%a %d %b %H:%M %Z")
            .to_string()
    }

    pub(super) fn local_date(&self, facility: &str, t: DateTime<Utc>) -> Result<NaiveDate, String> {
        Ok(t.with_timezone(&self.zone(facility)).date_naive())
    }

    /// The instant of `hour:minute` local time, `days` after the local date of `t`.
    pub(super) fn at_local(
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
    pub(super) fn next_local(
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

    pub(super) fn request(
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
    pub(super) fn exec(
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
    pub(super) fn refuse(
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

    pub(super) fn ask(&self, who: &str, q: &Query, now: DateTime<Utc>) -> Result<Answer, String> {
        self.engine
            .query(self.actor(who)?, q, now)
            .map_err(|e| format!("{who}'s query failed: {} ({e})", e.code()))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn free_slots(
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
    ///
    /// A table, one arm per kind of event the tour shows, and longer than
    /// the 120 lines a function may have: each event's wording is found in
    /// one place, and splitting it by topic would only scatter the arms.
    pub(super) fn describe(&self, e: &Event) -> String {
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
pub(super) fn booked(out: &Outcome) -> Result<u32, String> {
    out.events
        .iter()
        .find_map(|e| match e {
            Event::AppointmentBooked { appointment, .. } => Some(*appointment),
            _ => None,
        })
        .ok_or_else(|| "nothing was booked".into())
}

/// The wire name of a value that serialises as a string (an enum variant).
pub(super) fn wire<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
