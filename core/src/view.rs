//! Read-only views of the state for exporters (FHIR, iCalendar) and faces.
//!
//! Everything here borrows or copies; nothing changes the state. The views
//! give names instead of the state's internal indexes, so callers outside
//! core never see how the state is laid out.

use crate::agenda::{Agenda, AgendaConfig, Closure};
use crate::agreement::Agreement;
use crate::appointment::{AppointmentAction, AppointmentStatus};
use crate::beneficiary::Beneficiary;
use crate::facility::{Facility, Service};
use crate::referral::{Referral, ReferralAction};
use crate::slot::{day_slots, instant, local_date, minute_of};
use crate::state::State;
use crate::waitlist::WaitlistEntry;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An agenda with what its configuration alone does not say: the closures
/// added since, the effective slot length and the facility's time zone.
#[derive(Debug, Clone, Copy)]
pub struct AgendaInfo<'a> {
    pub config: &'a AgendaConfig,
    pub closures: &'a [Closure],
    /// The slot length in force: the agenda's own or its service's default.
    pub slot_minutes: u16,
    /// The facility's time zone, in which the weekly rules are read.
    pub time_zone: chrono_tz::Tz,
}

/// Whether a slot of the weekly rules can take bookings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotState {
    /// The agenda runs at that time; `taken` of `capacity` places are booked.
    Open,
    /// A network holiday or a closure of the agenda takes the slot away.
    Closed { reason: String },
}

/// One slot of an agenda's weekly rules, with its fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub capacity: u16,
    /// Places booked; more than `capacity` when the slot was overbooked.
    pub taken: u16,
    pub state: SlotState,
}

impl State {
    /// The network's name, as configured.
    pub fn network_name(&self) -> &str {
        &self.network_name
    }

    /// Every service, ordered by code.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// A service by code.
    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.get(code)
    }

    /// A facility by id.
    pub fn find_facility(&self, id: &str) -> Option<&Facility> {
        self.facility(id)
    }

    /// Every agenda, in definition order.
    pub fn agendas(&self) -> impl Iterator<Item = AgendaInfo<'_>> {
        self.agendas.iter().map(|a| self.agenda_info_of(a))
    }

    /// An agenda by id.
    pub fn agenda_info(&self, id: &str) -> Option<AgendaInfo<'_>> {
        self.agenda(id).map(|a| self.agenda_info_of(a))
    }

    fn agenda_info_of<'a>(&'a self, a: &'a Agenda) -> AgendaInfo<'a> {
        AgendaInfo {
            config: &a.config,
            closures: &a.closures,
            slot_minutes: a.slot_minutes,
            time_zone: a.tz,
        }
    }

    /// The network's holidays.
    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    /// Every inter-agency agreement, ordered by id.
    pub fn agreements(&self) -> impl Iterator<Item = &Agreement> {
        self.agreements.values()
    }

    /// Every beneficiary, in registration order.
    pub fn beneficiaries(&self) -> &[Beneficiary] {
        &self.beneficiaries
    }

    /// A beneficiary by identifier.
    pub fn find_beneficiary(&self, id: &str) -> Option<&Beneficiary> {
        self.beneficiary_idx(id)
            .and_then(|i| self.beneficiaries.get(i as usize))
    }

    /// An appointment by id, as queries show it.
    pub fn appointment_view(&self, id: u32) -> Option<AppointmentView> {
        let x = self.appointment(id)?;
        let a = self.agendas.get(x.agenda as usize)?;
        let b = self.beneficiaries.get(x.beneficiary as usize)?;
        Some(AppointmentView {
            id,
            agenda: a.config.id.clone(),
            facility: a.config.facility.clone(),
            service: a.config.service.clone(),
            beneficiary: b.id.clone(),
            start: instant(x.start),
            end: instant(x.start + i64::from(a.slot_minutes)),
            status: x.status,
            referral: (x.referral != 0).then_some(x.referral),
            rescheduled_from: (x.previous != 0).then_some(x.previous),
            rescheduled_to: (x.next != 0).then_some(x.next),
            overbooked: x.overbooked,
            actions: Vec::new(),
        })
    }

    /// Every appointment ever booked, oldest id first.
    pub fn appointment_views(&self) -> impl Iterator<Item = AppointmentView> + '_ {
        (1..=self.appointments.len() as u32).filter_map(|id| self.appointment_view(id))
    }

    /// The ids of a beneficiary's appointments, in booking order (none for
    /// an unknown beneficiary).
    pub fn beneficiary_appointment_ids(&self, beneficiary: &str) -> impl Iterator<Item = u32> + '_ {
        self.beneficiary_idx(beneficiary)
            .and_then(|i| self.by_beneficiary.get(i as usize))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|own| own.id)
    }

    /// Every referral, by id (referral `n` at index `n - 1`).
    pub fn referrals(&self) -> &[Referral] {
        &self.referrals
    }

    /// Every waitlist entry, by id (entry `n` at index `n - 1`).
    pub fn waitlist(&self) -> &[WaitlistEntry] {
        &self.waitlist
    }

    /// The slots of an agenda's weekly rules that start in `[from, to)`,
    /// open or closed, in time order; `None` for an unknown agenda.
    ///
    /// Closed slots are those a holiday or a closure takes away: they are
    /// reported so that calendars can show the time as unavailable rather
    /// than silently missing. Dates outside the agenda's validity give none.
    pub fn agenda_slots(
        &self,
        agenda: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<Vec<SlotInfo>> {
        let a = self.agenda(agenda)?;
        let mut out = Vec::new();
        if to <= from {
            return Some(out);
        }
        // The same rules without closures or holidays: what would be open.
        let bare = Agenda::new(a.config.clone(), a.facility, a.tz, a.slot_minutes);
        let no_holidays = BTreeSet::new();
        let (lo, hi) = (minute_of(from), minute_of(to));
        let mut date = local_date(a, lo);
        let last = local_date(a, hi);
        let (mut rule, mut open) = (Vec::new(), Vec::new());
        while date <= last {
            day_slots(&bare, &no_holidays, date, &mut rule);
            day_slots(a, &self.holidays, date, &mut open);
            for &m in rule.iter().filter(|&&m| m >= lo && m < hi) {
                let state = if open.contains(&m) {
                    SlotState::Open
                } else if self.holidays.contains(&date) {
                    SlotState::Closed {
                        reason: "network holiday".to_owned(),
                    }
                } else {
                    let reason = a
                        .closures
                        .iter()
                        .find(|c| c.date == date)
                        .map(|c| c.reason.clone())
                        .filter(|r| !r.trim().is_empty())
                        .unwrap_or_else(|| "agenda closed".to_owned());
                    SlotState::Closed { reason }
                };
                out.push(SlotInfo {
                    start: instant(m),
                    end: instant(m + i64::from(a.slot_minutes)),
                    capacity: a.config.capacity,
                    taken: a.taken(m),
                    state,
                });
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        out.sort_unstable_by_key(|s| s.start);
        Some(out)
    }
}

/// An appointment as queries show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AppointmentView {
    pub id: u32,
    pub agenda: String,
    pub facility: String,
    pub service: String,
    pub beneficiary: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub referral: Option<u32>,
    pub rescheduled_from: Option<u32>,
    pub rescheduled_to: Option<u32>,
    pub overbooked: bool,
    /// What the asking actor may do with it now (empty where no actor
    /// asked, e.g. in an export).
    #[serde(default)]
    pub actions: Vec<AppointmentAction>,
}

/// A referral as answers show it: the record, and the actions the asking
/// actor may take on it now, from the table the flow checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReferralView {
    #[serde(flatten)]
    pub referral: Referral,
    pub actions: Vec<ReferralAction>,
}

impl ReferralView {
    pub(crate) fn of(actor: &crate::actor::Actor, r: &Referral) -> Self {
        ReferralView {
            referral: r.clone(),
            actions: crate::referral::rules::permitted(actor, r),
        }
    }
}
