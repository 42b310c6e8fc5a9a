//! Who may see which event: the rules an event feed applies.
//!
//! A feed for replicas and integrations must show each actor only what the
//! queries would show them, so the rules live here, in core, beside the
//! queries they mirror:
//!
//! - auditors and network admins see everything;
//! - reference data (network, services, facilities, agendas, closures,
//!   holidays, agreements) is public to every actor, as the `facilities`,
//!   `services` and `agendas` queries are;
//! - beneficiary records are seen by front-line staff of a facility (the
//!   `find_beneficiaries` query's readers);
//! - appointments are seen by the staff of the agenda's facility and, when
//!   the appointment belongs to a referral, by every facility the referral
//!   involves;
//! - waitlist entries are seen by the staff of the facility they wait for,
//!   or by any front-line staff when they wait for any facility;
//! - referral events are seen by the facilities the referral involves (its
//!   origin and every facility that has held it), as `Query::Referral` does.
//!
//! The rules need to know, for example, which facility appointment 17 is at
//! when it is cancelled. [`Visibility`] keeps exactly that, folded from the
//! journal entries like the state, so a host that runs the engine out of
//! process (in wasmtime) can filter a feed without a copy of the state.

use crate::actor::{Actor, Role};
use crate::event::Event;
use crate::journal::Entry;
use rustc_hash::FxHashMap;

/// The scopes of the records events refer to, folded from journal entries.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Visibility {
    /// Agenda id → facility id.
    agenda_facility: FxHashMap<String, String>,
    /// Appointment `id` at `id - 1`: (facility, referral id or 0).
    appointments: Vec<(u32, u32)>,
    /// Referral `id` at `id - 1`: origin and every destination it has had.
    referrals: Vec<Vec<u32>>,
    /// Waitlist entry `id` at `id - 1`: the facility it waits for, if any.
    waitlist: Vec<Option<u32>>,
    /// Interned facility ids, so the tables above hold small numbers.
    facilities: FxHashMap<String, u32>,
    /// The last entry observed.
    seq: u64,
}

impl Visibility {
    /// An index that has seen no entry.
    pub fn new() -> Self {
        Visibility::default()
    }

    /// Builds the index from a whole journal.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Self {
        let mut v = Visibility::new();
        for e in entries {
            v.observe(e);
        }
        v
    }

    /// The index as snapshot bytes (see [`crate::snapshot`]), for a face
    /// that snapshots it beside the engine.
    pub fn snapshot(&self) -> Vec<u8> {
        crate::snapshot::encode(self)
    }

    /// The index a snapshot holds; damaged bytes are refused with
    /// `invalid_input` (field `snapshot`).
    pub fn from_snapshot(bytes: &[u8]) -> crate::error::Result<Self> {
        crate::snapshot::decode(bytes)
    }

    /// The seq of the last entry observed.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn intern(&mut self, facility: &str) -> u32 {
        let next = self.facilities.len() as u32;
        *self.facilities.entry(facility.to_owned()).or_insert(next)
    }

    fn put<T: Clone>(v: &mut Vec<T>, id: u32, value: T, empty: T) {
        let i = (id as usize).saturating_sub(1);
        if v.len() <= i {
            v.resize(i + 1, empty);
        }
        v[i] = value;
    }

    /// Folds one entry in. Entries must come in journal order.
    pub fn observe(&mut self, entry: &Entry) {
        use Event::*;
        for ev in &entry.events {
            match ev {
                AgendaDefined { agenda } => {
                    self.intern(&agenda.facility);
                    self.agenda_facility
                        .insert(agenda.id.clone(), agenda.facility.clone());
                }
                AppointmentBooked {
                    appointment,
                    facility,
                    referral,
                    ..
                } => {
                    let f = self.intern(facility);
                    let r = referral.unwrap_or(0);
                    Self::put(&mut self.appointments, *appointment, (f, r), (u32::MAX, 0));
                }
                WaitlistJoined {
                    entry, facility, ..
                } => {
                    let f = facility.as_deref().map(|f| self.intern(f));
                    Self::put(&mut self.waitlist, *entry, f, None);
                }
                ReferralCreated {
                    referral,
                    origin,
                    destination,
                    ..
                } => {
                    let scope = vec![self.intern(origin), self.intern(destination)];
                    Self::put(&mut self.referrals, *referral, scope, Vec::new());
                }
                ReferralRedirected { referral, to, .. }
                | ReferralEscalated { referral, to, .. } => {
                    let f = self.intern(to);
                    if let Some(scope) =
                        self.referrals.get_mut((*referral as usize).wrapping_sub(1))
                        && !scope.contains(&f)
                    {
                        scope.push(f);
                    }
                }
                _ => {}
            }
        }
        self.seq = entry.seq;
    }

    /// The interned number of the actor's facility, if the index knows it.
    fn actor_facility(&self, actor: &Actor) -> Option<u32> {
        actor
            .facility
            .as_deref()
            .and_then(|f| self.facilities.get(f).copied())
    }

    fn referral_involves(&self, referral: u32, facility: Option<u32>) -> bool {
        facility.is_some_and(|f| {
            self.referrals
                .get((referral as usize).wrapping_sub(1))
                .is_some_and(|scope| scope.contains(&f))
        })
    }

    fn appointment_visible(&self, appointment: u32, facility: Option<u32>) -> bool {
        let Some(&(at, referral)) = self
            .appointments
            .get((appointment as usize).wrapping_sub(1))
        else {
            return false;
        };
        facility == Some(at) || (referral != 0 && self.referral_involves(referral, facility))
    }

    /// True when `actor` may see `event`. The event must belong to an entry
    /// already [observed](Visibility::observe).
    pub fn may_see(&self, actor: &Actor, event: &Event) -> bool {
        use Event::*;
        if matches!(actor.role, Role::Auditor | Role::Admin) {
            return true;
        }
        let staff = actor.facility.is_some();
        let here = self.actor_facility(actor);
        match event {
            NetworkConfigured { .. }
            | ServiceDefined { .. }
            | FacilityRegistered { .. }
            | AgendaDefined { .. }
            | ClosureAdded { .. }
            | HolidayDeclared { .. }
            | AgreementDefined { .. } => true,
            BeneficiaryRegistered { .. } | CoverageSet { .. } => staff,
            AppointmentBooked {
                appointment,
                facility,
                ..
            } => actor.works_at(facility) || self.appointment_visible(*appointment, here),
            AppointmentCancelled { appointment, .. }
            | AppointmentRescheduled { appointment, .. }
            | AppointmentArrived { appointment }
            | AppointmentFulfilled { appointment }
            | AppointmentNoShow { appointment } => self.appointment_visible(*appointment, here),
            WaitlistJoined { entry, .. }
            | WaitlistLeft { entry, .. }
            | WaitlistSatisfied { entry, .. } => self.waitlist_visible(*entry, staff, here),
            WaitlistSlotOffered { entry, agenda, .. } => {
                self.waitlist_visible(*entry, staff, here)
                    || self
                        .agenda_facility
                        .get(agenda)
                        .is_some_and(|f| actor.works_at(f))
            }
            _ => event
                .referral()
                .is_some_and(|r| self.referral_involves(r, here)),
        }
    }

    fn waitlist_visible(&self, entry: u32, staff: bool, here: Option<u32>) -> bool {
        match self.waitlist.get((entry as usize).wrapping_sub(1)) {
            Some(Some(f)) => here == Some(*f),
            Some(None) => staff,
            None => false,
        }
    }

    /// The events of `entry` that `actor` may see, in order; empty when none.
    pub fn visible_events<'e>(&self, actor: &Actor, entry: &'e Entry) -> Vec<&'e Event> {
        entry
            .events
            .iter()
            .filter(|ev| self.may_see(actor, ev))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{self, Spec};
    use crate::{Command, Engine, Request};

    #[test]
    fn a_third_facility_sees_reference_data_but_not_bookings() {
        let spec = Spec::demo();
        let mut engine = Engine::new();
        for r in synth::reference(&spec) {
            engine.execute(r).unwrap();
        }
        let clinic = synth::facility_id(0);
        let other = synth::facility_id(1);
        let clerk = Actor::new("c", synth::CLINIC_AGENCY, Some(&clinic), Role::Clerk);
        let stranger = Actor::new("s", synth::CLINIC_AGENCY, Some(&other), Role::Clerk);
        let auditor = Actor::new("a", "ministry", None, Role::Auditor);
        let start = engine
            .query(
                &clerk,
                &crate::Query::FreeSlots {
                    service: "prenatal".into(),
                    region: None,
                    tier: None,
                    facilities: vec![clinic.clone()],
                    from: spec.start,
                    to: spec.start + chrono::Duration::days(7),
                    limit: 1,
                    for_referral: false,
                },
                spec.start,
            )
            .unwrap();
        let crate::Answer::FreeSlots(slots) = start else {
            panic!("free slots")
        };
        let out = engine
            .execute(Request {
                actor: clerk.clone(),
                at: spec.start,
                key: None,
                command: Command::BookAppointment {
                    agenda: slots[0].agenda.clone(),
                    start: slots[0].start,
                    beneficiary: synth::beneficiary_id(0),
                    follow_up_of: None,
                    overbook: false,
                },
            })
            .unwrap();
        let appointment = match out.events[0] {
            Event::AppointmentBooked { appointment, .. } => appointment,
            _ => panic!("booked"),
        };
        engine
            .execute(Request {
                actor: clerk.clone(),
                at: spec.start,
                key: None,
                command: Command::CancelAppointment {
                    appointment,
                    reason: "asked".into(),
                },
            })
            .unwrap();
        let v = Visibility::from_entries(engine.journal());
        assert_eq!(v.seq(), engine.state().seq());
        let last_two = &engine.journal()[engine.journal().len() - 2..];
        for e in last_two {
            assert_eq!(v.visible_events(&clerk, e).len(), e.events.len());
            assert_eq!(v.visible_events(&auditor, e).len(), e.events.len());
            assert!(v.visible_events(&stranger, e).is_empty());
        }
        // Reference data is public.
        let first = &engine.journal()[0];
        assert_eq!(v.visible_events(&stranger, first).len(), 1);
    }
}
