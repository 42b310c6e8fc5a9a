//! The engine's state: exactly the fold of its journal entries.
//!
//! `apply` never decides and never fails: every value it needs is in the
//! event. Indexes (by name, by beneficiary, load per slot) are rebuilt by the
//! same fold, so replay gives the same state as live execution.

use crate::agenda::Agenda;
use crate::agreement::Agreement;
use crate::appointment::{Appointment, AppointmentStatus};
use crate::beneficiary::Beneficiary;
use crate::event::Event;
use crate::facility::{Facility, Service};
use crate::journal::Entry;
use crate::referral::{Referral, ReferralStatus, TargetTimes, TimelineStep, default_targets};
use crate::slot::{local_date, minute_of};
use crate::waitlist::{WaitlistEntry, WaitlistStatus};
use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Everything the engine knows about one network.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub(crate) network_name: String,
    pub(crate) targets: Vec<TargetTimes>,
    pub(crate) services: BTreeMap<String, Service>,
    pub(crate) facilities: Vec<Facility>,
    pub(crate) facility_index: FxHashMap<String, u32>,
    pub(crate) agendas: Vec<Agenda>,
    pub(crate) agenda_index: FxHashMap<String, u32>,
    /// Agenda indexes per facility (parallel to `facilities`).
    pub(crate) agendas_by_facility: Vec<Vec<u32>>,
    /// Agenda indexes per service code.
    pub(crate) agendas_by_service: FxHashMap<String, Vec<u32>>,
    /// What the free-slot search reads of each agenda (parallel to
    /// `agendas`), apart from the full records so that a search over
    /// thousands of agendas reads a few bytes of each.
    pub(crate) search_keys: Vec<SearchKey>,
    /// Schedule shape ids: agendas whose slots fall at the same instants by
    /// their rules (zone, slot length, weekly blocks) share one.
    pub(crate) shapes: FxHashMap<Shape, u32>,
    pub(crate) holidays: BTreeSet<NaiveDate>,
    pub(crate) agreements: BTreeMap<String, Agreement>,
    pub(crate) beneficiaries: Vec<Beneficiary>,
    pub(crate) beneficiary_index: FxHashMap<String, u32>,
    /// Appointments per beneficiary (parallel to `beneficiaries`), each with
    /// its start beside its id so the double-booking rule reads one list.
    pub(crate) by_beneficiary: Vec<Vec<Own>>,
    /// Appointment `id` lives at index `id - 1`.
    pub(crate) appointments: Vec<Appointment>,
    /// Waitlist entry `id` lives at index `id - 1`.
    pub(crate) waitlist: Vec<WaitlistEntry>,
    /// Referral `id` lives at index `id - 1`.
    pub(crate) referrals: Vec<Referral>,
    /// Referral ids per facility that has been their destination.
    pub(crate) referrals_to: FxHashMap<String, Vec<u32>>,
    /// Referral ids per origin facility.
    pub(crate) referrals_from: FxHashMap<String, Vec<u32>>,
    /// What a worklist needs of each referral (parallel to `referrals`).
    pub(crate) work_keys: Vec<WorkKey>,
    /// Idempotency: hash of key → (digest of the command, entry seq).
    pub(crate) idempotency: FxHashMap<u64, (u64, u64)>,
    /// Sequence number of the last entry applied.
    pub(crate) seq: u64,
    /// Hash of the last entry applied: the head of the audit chain.
    pub(crate) head: String,
}

/// What a destination's worklist needs of one referral, kept apart from the
/// full record so that sorting thousands of open referrals reads little memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WorkKey {
    /// Index in `facilities` of the current destination.
    pub destination: u32,
    /// On the destination's worklist (see `ReferralStatus::is_open_at_destination`).
    pub open: bool,
    pub priority: crate::priority::Priority,
    /// The next deadline, as `Referral::next_deadline` gives it.
    pub deadline: chrono::DateTime<chrono::Utc>,
}

/// What places an agenda's slots in time: zone, slot length, weekly blocks
/// by weekday (local minutes of the day).
pub(crate) type Shape = (chrono_tz::Tz, u16, [Vec<(u16, u16)>; 7]);

/// What a free-slot search needs of one agenda before it looks at its slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SearchKey {
    /// The agenda's schedule shape id (see `State::shapes`): equal ids,
    /// equal rule slots.
    pub shape: u32,
    pub facility: u32,
    pub min_notice_minutes: u32,
    pub horizon_days: u16,
}

/// One of a beneficiary's appointments: its id and a copy of its start
/// minute, so checking a new booking against the beneficiary's others
/// reads this list alone instead of one appointment record each (a cache
/// miss apiece on a large state). Eight bytes: the minute is an `i32` (year
/// 1900 to 2200 and far beyond); one that does not fit is kept saturated,
/// and a saturated minute means "read the record".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Own {
    pub id: u32,
    minute: i32,
}

impl Own {
    pub fn new(id: u32, minute: i64) -> Self {
        Own {
            id,
            minute: minute.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        }
    }

    /// False only when the appointment surely does not start at `minute`.
    pub fn may_start_at(self, minute: i64) -> bool {
        i64::from(self.minute) == minute || self.minute == i32::MIN || self.minute == i32::MAX
    }
}

/// Context of the entry an event belongs to, for timelines.
#[derive(Debug, Clone, Copy)]
pub struct Meta<'a> {
    pub seq: u64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: &'a crate::actor::Actor,
}

impl State {
    /// Recomputes agenda `i`'s search key after it was defined or changed.
    fn refresh_search_key(&mut self, i: usize) {
        let a = &self.agendas[i];
        let next = self.shapes.len() as u32;
        let shape = *self
            .shapes
            .entry((a.tz, a.slot_minutes, a.by_day.clone()))
            .or_insert(next);
        let key = SearchKey {
            shape,
            facility: a.facility,
            min_notice_minutes: a.config.min_notice_minutes,
            horizon_days: a.config.horizon_days,
        };
        match self.search_keys.get_mut(i) {
            Some(k) => *k = key,
            None => self.search_keys.push(key),
        }
    }
}

impl State {
    /// A state with nothing in it.
    pub fn new() -> Self {
        State::default()
    }

    /// Target times per priority: the network's where it sets them, the
    /// defaults for the priorities it leaves out (a network that only
    /// shortens the urgent targets keeps the one-hour emergency target).
    pub fn targets(&self) -> Vec<TargetTimes> {
        let mut all = default_targets();
        for t in &self.targets {
            if let Some(d) = all.iter_mut().find(|d| d.priority == t.priority) {
                *d = *t;
            }
        }
        all
    }

    /// A digest of the whole state, independent of how it was reached
    /// (live execution or replay) and of hash-map iteration order. Two states
    /// with equal fingerprints hold the same data.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = crate::journal::StableHasher::new();
        self.network_name.hash(&mut h);
        self.targets.hash(&mut h);
        for s in self.services.values() {
            s.hash(&mut h);
        }
        self.facilities.hash(&mut h);
        for a in &self.agendas {
            a.config.hash(&mut h);
            a.closures.hash(&mut h);
            a.slot_minutes.hash(&mut h);
            a.facility.hash(&mut h);
            let mut load: Vec<_> = a.load.iter().collect();
            load.sort_unstable();
            load.hash(&mut h);
            let mut days: Vec<_> = a.ordinary_per_day.iter().filter(|(_, n)| **n > 0).collect();
            days.sort_unstable();
            days.hash(&mut h);
        }
        self.holidays.hash(&mut h);
        for a in self.agreements.values() {
            a.hash(&mut h);
        }
        self.beneficiaries.hash(&mut h);
        for list in &self.by_beneficiary {
            list.len().hash(&mut h);
            for own in list {
                own.id.hash(&mut h);
            }
        }
        for a in &self.appointments {
            (
                a.start,
                a.agenda,
                a.beneficiary,
                a.referral,
                a.previous,
                a.next,
                a.status,
                a.overbooked,
            )
                .hash(&mut h);
        }
        serde_json::to_string(&self.waitlist)
            .unwrap_or_default()
            .hash(&mut h);
        serde_json::to_string(&self.referrals)
            .unwrap_or_default()
            .hash(&mut h);
        let mut idem: Vec<_> = self.idempotency.iter().collect();
        idem.sort_unstable();
        idem.hash(&mut h);
        self.seq.hash(&mut h);
        self.head.hash(&mut h);
        h.finish()
    }

    /// Sequence number of the last applied entry (0 for an empty network).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Hash of the last applied entry (empty for an empty network).
    pub fn head(&self) -> &str {
        &self.head
    }

    /// Number of appointments ever booked.
    pub fn appointment_count(&self) -> usize {
        self.appointments.len()
    }

    /// Number of referrals ever created.
    pub fn referral_count(&self) -> usize {
        self.referrals.len()
    }

    /// The network's facilities in registration order.
    pub fn facilities(&self) -> &[Facility] {
        &self.facilities
    }

    /// A referral by id.
    pub fn referral(&self, id: u32) -> Option<&Referral> {
        self.referrals.get((id as usize).wrapping_sub(1))
    }

    pub(crate) fn appointment(&self, id: u32) -> Option<&Appointment> {
        self.appointments.get((id as usize).wrapping_sub(1))
    }

    pub(crate) fn facility(&self, id: &str) -> Option<&Facility> {
        self.facility_index
            .get(id)
            .map(|&i| &self.facilities[i as usize])
    }

    pub(crate) fn agenda(&self, id: &str) -> Option<&Agenda> {
        self.agenda_index
            .get(id)
            .map(|&i| &self.agendas[i as usize])
    }

    pub(crate) fn beneficiary_idx(&self, id: &str) -> Option<u32> {
        self.beneficiary_index.get(id).copied()
    }

    /// Applies a whole journal entry: its events, its idempotency key, its
    /// place in the audit chain.
    pub fn apply_entry(&mut self, entry: &Entry) {
        let meta = Meta {
            seq: entry.seq,
            at: entry.at,
            actor: &entry.actor,
        };
        for e in &entry.events {
            self.apply(&meta, e);
        }
        if let (Some(key), Some(digest)) = (&entry.key, entry.digest) {
            self.idempotency
                .insert(crate::journal::key_hash(key), (digest, entry.seq));
        }
        self.seq = entry.seq;
        self.head.clone_from(&entry.hash);
    }

    /// Applies one event. Never fails: a decided event is always applicable.
    /// Kept whole as a table: one arm per case, so every case reads in one place (issue 14).
    pub fn apply(&mut self, meta: &Meta<'_>, event: &Event) {
        use Event::*;
        match event {
            NetworkConfigured { name, targets } => {
                self.network_name.clone_from(name);
                self.targets.clone_from(targets);
            }
            ServiceDefined { service } => {
                self.services.insert(service.code.clone(), service.clone());
            }
            FacilityRegistered { facility } => {
                let idx = self.facilities.len() as u32;
                self.facility_index.insert(facility.id.clone(), idx);
                self.facilities.push(facility.clone());
                self.agendas_by_facility.push(Vec::new());
            }
            AgendaDefined { agenda } => {
                let slot = agenda.slot_minutes.unwrap_or_else(|| {
                    self.services
                        .get(&agenda.service)
                        .map_or(15, |s| s.slot_minutes)
                });
                if let Some(&i) = self.agenda_index.get(&agenda.id) {
                    self.agendas[i as usize].reconfigure(agenda.clone(), slot);
                    self.refresh_search_key(i as usize);
                } else {
                    let facility = self
                        .facility_index
                        .get(&agenda.facility)
                        .copied()
                        .unwrap_or(0);
                    let tz = self.facilities[facility as usize]
                        .time_zone
                        .parse()
                        .unwrap_or(chrono_tz::UTC);
                    let idx = self.agendas.len() as u32;
                    self.agenda_index.insert(agenda.id.clone(), idx);
                    if let Some(list) = self.agendas_by_facility.get_mut(facility as usize) {
                        list.push(idx);
                    }
                    self.agendas_by_service
                        .entry(agenda.service.clone())
                        .or_default()
                        .push(idx);
                    self.agendas
                        .push(Agenda::new(agenda.clone(), facility, tz, slot));
                    self.refresh_search_key(idx as usize);
                }
            }
            ClosureAdded { agenda, closure } => {
                if let Some(&i) = self.agenda_index.get(agenda) {
                    self.agendas[i as usize].closures.push(closure.clone());
                }
            }
            HolidayDeclared { date, .. } => {
                self.holidays.insert(*date);
            }
            AgreementDefined { agreement } => {
                self.agreements
                    .insert(agreement.id.clone(), agreement.clone());
            }
            BeneficiaryRegistered { beneficiary } => {
                let idx = self.beneficiaries.len() as u32;
                self.beneficiary_index.insert(beneficiary.id.clone(), idx);
                self.beneficiaries.push(beneficiary.clone());
                self.by_beneficiary.push(Vec::new());
            }
            CoverageSet {
                beneficiary,
                coverage,
            } => {
                if let Some(i) = self.beneficiary_idx(beneficiary) {
                    self.beneficiaries[i as usize].coverage.clone_from(coverage);
                }
            }
            AppointmentBooked {
                appointment,
                agenda,
                beneficiary,
                start,
                referral,
                follow_up_of,
                rescheduled_from,
                overbooked,
                ..
            } => {
                let a = self.agenda_index.get(agenda).copied().unwrap_or(0);
                let b = self.beneficiary_idx(beneficiary).unwrap_or(0);
                let m = minute_of(*start);
                let appt = Appointment {
                    start: m,
                    agenda: a,
                    beneficiary: b,
                    referral: referral.unwrap_or(0),
                    previous: rescheduled_from.unwrap_or(0),
                    next: 0,
                    status: AppointmentStatus::Booked,
                    overbooked: *overbooked,
                };
                debug_assert_eq!(*appointment as usize, self.appointments.len() + 1);
                self.appointments.push(appt);
                self.take_place(&appt, 1);
                if let Some(list) = self.by_beneficiary.get_mut(b as usize) {
                    list.push(Own::new(*appointment, m));
                }
                if let Some(r) = referral.and_then(|r| self.referral_mut(r)) {
                    r.appointment = Some(*appointment);
                }
                if let Some(r) = follow_up_of.and_then(|r| self.referral_mut(r)) {
                    r.follow_up_appointment = Some(*appointment);
                }
            }
            AppointmentCancelled { appointment, .. } => {
                self.end_appointment(*appointment, AppointmentStatus::Cancelled);
            }
            AppointmentRescheduled {
                appointment, to, ..
            } => {
                self.end_appointment(*appointment, AppointmentStatus::Rescheduled);
                if let Some(a) = self.appointment_mut(*appointment) {
                    a.next = *to;
                }
            }
            AppointmentArrived { appointment } => {
                self.set_status(*appointment, AppointmentStatus::Arrived);
            }
            AppointmentFulfilled { appointment } => {
                self.set_status(*appointment, AppointmentStatus::Fulfilled);
            }
            AppointmentNoShow { appointment } => {
                // A missed appointment keeps its place: the slot is in the past.
                self.set_status(*appointment, AppointmentStatus::NoShow);
            }
            WaitlistJoined {
                entry,
                beneficiary,
                service,
                facility,
                priority,
            } => {
                debug_assert_eq!(*entry as usize, self.waitlist.len() + 1);
                self.waitlist.push(WaitlistEntry {
                    id: *entry,
                    beneficiary: beneficiary.clone(),
                    service: service.clone(),
                    facility: facility.clone(),
                    priority: *priority,
                    status: WaitlistStatus::Waiting,
                    joined_at: meta.at,
                });
            }
            WaitlistLeft { entry, .. } => self.set_waitlist(*entry, WaitlistStatus::Left),
            WaitlistSlotOffered { entry, .. } => {
                self.set_waitlist(*entry, WaitlistStatus::Offered);
            }
            WaitlistSatisfied { entry, .. } => {
                self.set_waitlist(*entry, WaitlistStatus::Satisfied);
            }
            ReferralCreated {
                referral,
                beneficiary,
                service,
                priority,
                origin,
                origin_agency,
                destination,
                agreement,
                reason,
                attachments,
                accept_due,
                appointment_due,
            } => {
                debug_assert_eq!(*referral as usize, self.referrals.len() + 1);
                self.referrals_to
                    .entry(destination.clone())
                    .or_default()
                    .push(*referral);
                self.referrals_from
                    .entry(origin.clone())
                    .or_default()
                    .push(*referral);
                self.referrals.push(Referral {
                    id: *referral,
                    beneficiary: beneficiary.clone(),
                    service: service.clone(),
                    priority: *priority,
                    origin: origin.clone(),
                    origin_agency: origin_agency.clone(),
                    destination: destination.clone(),
                    destinations: vec![destination.clone()],
                    reason: reason.clone(),
                    attachments: attachments.clone(),
                    agreement: agreement.clone(),
                    status: ReferralStatus::Requested,
                    created_at: meta.at,
                    accept_due: *accept_due,
                    appointment_due: *appointment_due,
                    accepted_at: None,
                    appointment: None,
                    first_appointment_start: None,
                    counter_referral: None,
                    follow_up_appointment: None,
                    closing_reason: None,
                    timeline: Vec::new(),
                });
            }
            ReferralReceived { referral } => {
                self.set_referral(*referral, ReferralStatus::Received);
            }
            ReferralAccepted { referral, .. } => {
                if let Some(r) = self.referral_mut(*referral) {
                    r.status = ReferralStatus::Accepted;
                    r.accepted_at.get_or_insert(meta.at);
                }
            }
            ReferralRejected { referral, text, .. } => {
                if let Some(r) = self.referral_mut(*referral) {
                    r.status = ReferralStatus::Rejected;
                    r.closing_reason = Some(text.clone());
                }
            }
            ReferralRedirected {
                referral,
                to,
                agreement,
                ..
            }
            | ReferralEscalated {
                referral,
                to,
                agreement,
                ..
            } => {
                let known = self.referrals_to.entry(to.clone()).or_default();
                if !known.contains(referral) {
                    known.push(*referral);
                }
                if let Some(r) = self.referral_mut(*referral) {
                    r.status = ReferralStatus::Requested;
                    r.destination.clone_from(to);
                    r.destinations.push(to.clone());
                    r.agreement.clone_from(agreement);
                    r.accepted_at = None;
                }
            }
            ReferralScheduled {
                referral,
                appointment,
                start,
            } => {
                if let Some(r) = self.referral_mut(*referral) {
                    r.status = ReferralStatus::Scheduled;
                    r.appointment = Some(*appointment);
                    r.first_appointment_start.get_or_insert(*start);
                }
            }
            ReferralInProgress { referral } => {
                self.set_referral(*referral, ReferralStatus::InProgress);
            }
            ReferralNoShow { referral, .. } => {
                if let Some(r) = self.referral_mut(*referral) {
                    r.status = ReferralStatus::Accepted;
                    r.appointment = None;
                }
            }
            CounterReferralSent {
                referral,
                counter_referral,
            } => {
                if let Some(r) = self.referral_mut(*referral) {
                    r.status = ReferralStatus::CounterReferred;
                    r.counter_referral = Some(counter_referral.clone());
                }
            }
            CounterReferralAcknowledged { referral } => {
                self.set_referral(*referral, ReferralStatus::Completed);
            }
            FollowUpBooked { .. } => {}
            ReferralCancelled { referral, reason } => {
                if let Some(r) = self.referral_mut(*referral) {
                    r.status = ReferralStatus::Cancelled;
                    r.closing_reason = Some(reason.clone());
                }
            }
            ReferralClosed { referral, reason } => {
                if let Some(r) = self.referral_mut(*referral) {
                    r.status = ReferralStatus::Closed;
                    r.closing_reason = Some(reason.clone());
                }
            }
        }
        // Cancelling a referral's appointment returns the referral to
        // accepted: that is a step of its life too, with who and when.
        let id = event.referral().or_else(|| match event {
            AppointmentCancelled { appointment, .. } => self
                .appointment(*appointment)
                .map(|a| a.referral)
                .filter(|&r| r != 0),
            _ => None,
        });
        if let Some(id) = id
            && let Some(r) = self.referral_mut(id)
        {
            let note = match event {
                ReferralAccepted { note, .. } => note.clone(),
                ReferralRejected { text, .. } => text.clone(),
                ReferralRedirected { to, reason, .. } | ReferralEscalated { to, reason, .. } => {
                    format!("→ {to}: {reason}")
                }
                ReferralCancelled { reason, .. }
                | ReferralClosed { reason, .. }
                | AppointmentCancelled { reason, .. } => reason.clone(),
                ReferralScheduled { start, .. } => start.to_rfc3339(),
                _ => String::new(),
            };
            let status = r.status;
            r.timeline.push(TimelineStep {
                seq: meta.seq,
                at: meta.at,
                user: meta.actor.user.clone(),
                role: meta.actor.role,
                facility: meta.actor.facility.clone(),
                event: event.name().to_owned(),
                status,
                note,
            });
            self.index_referral(id);
        }
    }

    /// Refreshes the worklist key of a referral after it changed.
    fn index_referral(&mut self, id: u32) {
        let Some(r) = self.referral(id) else {
            return;
        };
        let key = WorkKey {
            destination: self
                .facility_index
                .get(&r.destination)
                .copied()
                .unwrap_or(u32::MAX),
            open: r.status.is_open_at_destination(),
            priority: r.priority,
            deadline: r.next_deadline().1,
        };
        let i = id as usize - 1;
        if i < self.work_keys.len() {
            self.work_keys[i] = key;
        } else {
            self.work_keys.push(key);
        }
    }

    fn referral_mut(&mut self, id: u32) -> Option<&mut Referral> {
        self.referrals.get_mut((id as usize).wrapping_sub(1))
    }

    fn appointment_mut(&mut self, id: u32) -> Option<&mut Appointment> {
        self.appointments.get_mut((id as usize).wrapping_sub(1))
    }

    fn set_referral(&mut self, id: u32, status: ReferralStatus) {
        if let Some(r) = self.referral_mut(id) {
            r.status = status;
        }
    }

    fn set_waitlist(&mut self, id: u32, status: WaitlistStatus) {
        if let Some(w) = self.waitlist.get_mut((id as usize).wrapping_sub(1)) {
            w.status = status;
        }
    }

    fn set_status(&mut self, id: u32, status: AppointmentStatus) {
        if let Some(a) = self.appointment_mut(id) {
            a.status = status;
        }
    }

    /// Counts (`delta` = 1) or releases (`delta` = -1) an appointment's place.
    fn take_place(&mut self, appt: &Appointment, delta: i32) {
        let Some(agenda) = self.agendas.get_mut(appt.agenda as usize) else {
            return;
        };
        let load = agenda.load.entry(appt.start).or_insert(0);
        *load = (i32::from(*load) + delta).max(0) as u16;
        if *load == 0 {
            agenda.load.remove(&appt.start);
        }
        if appt.referral == 0 && !appt.overbooked {
            let date = local_date(agenda, appt.start);
            let day = agenda.ordinary_per_day.entry(date).or_insert(0);
            *day = (i64::from(*day) + i64::from(delta)).max(0) as u32;
        }
    }

    /// Ends a booked appointment (cancel or reschedule): frees its place and
    /// returns a scheduled referral to `accepted`.
    fn end_appointment(&mut self, id: u32, status: AppointmentStatus) {
        let Some(appt) = self.appointment(id).copied() else {
            return;
        };
        if appt.status.holds_place() {
            self.take_place(&appt, -1);
        }
        self.set_status(id, status);
        if status == AppointmentStatus::Cancelled
            && appt.referral != 0
            && let Some(r) = self.referral_mut(appt.referral)
            && r.status == ReferralStatus::Scheduled
            && r.appointment == Some(id)
        {
            r.status = ReferralStatus::Accepted;
            r.appointment = None;
            self.index_referral(appt.referral);
        }
    }
}
