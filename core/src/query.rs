//! Queries: read-only questions, authorized like commands.

use crate::access::{facility_reader, people_reader};
use crate::actor::{Actor, Role};
use crate::agenda::AgendaConfig;
use crate::appointment::AppointmentStatus;
use crate::beneficiary::Beneficiary;
use crate::error::{Error, Result};
use crate::facility::{Facility, Service, Tier};
pub use crate::interop::{CalendarOf, FhirParam};
use crate::journal::{Entry, Held, Verification, verify_from};
use crate::priority::Priority;
use crate::referral::routing::{Routing, suggest};
use crate::referral::{Referral as ReferralRecord, ReferralStatus};
use crate::slot::{
    FreeSlots, Minute, Use, day_slots, instant, minute_at_or_after, minute_of, ordinary_left,
};
use crate::state::State;
pub use crate::view::{AppointmentView, ReferralView};
use crate::waitlist::WaitlistEntry;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A question to the engine. The JSON form is `{"type": "free_slots", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Query {
    Facilities,
    Services,
    Agendas {
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        facility: Option<String>,
    },
    /// Earliest free slots for a service across facilities.
    FreeSlots {
        service: String,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        region: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        tier: Option<Tier>,
        /// Only these facilities (empty: any).
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        facilities: Vec<String>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_SLOTS)))]
        limit: u16,
        /// Count the places kept for referred patients as free.
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        for_referral: bool,
    },
    /// Slots of an agenda for a run of days, with their fill.
    AgendaView {
        agenda: String,
        from: NaiveDate,
        #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_DAYS)))]
        days: u16,
    },
    /// The appointments of an agenda on a local date.
    AgendaAppointments {
        agenda: String,
        date: NaiveDate,
    },
    /// Beneficiaries whose id starts with, or whose name contains, `text`
    /// (at least 2 characters), ignoring case and the accents of Latin
    /// letters; at most 50.
    FindBeneficiaries {
        #[cfg_attr(feature = "schema", schemars(length(min = 2), regex(pattern = crate::schema::SEARCH)))]
        text: String,
    },
    BeneficiaryAppointments {
        beneficiary: String,
    },
    Utilization {
        agenda: String,
        from: NaiveDate,
        to: NaiveDate,
    },
    Waitlist {
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        service: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        facility: Option<String>,
    },
    /// A destination's open referrals, most pressing first.
    Worklist {
        facility: String,
        #[serde(default = "default_limit")]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        limit: u32,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        offset: u32,
    },
    /// Referrals a facility sent.
    OutgoingReferrals {
        facility: String,
    },
    Referral {
        referral: u32,
    },
    BreachReport {
        facility: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Where the acting clinician's facility could refer a beneficiary.
    SuggestDestinations {
        beneficiary: String,
        service: String,
        tier: Tier,
        priority: Priority,
    },
    /// Journal entries about a facility or a referral (auditors only).
    AuditTrail {
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        facility: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        referral: Option<u32>,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        after: u64,
        #[serde(default = "default_limit")]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        limit: u32,
    },
    VerifyAudit,
    /// Evidence for conditional cash-transfer programmes: did each covered
    /// beneficiary attend the required visits of `service` in the period?
    Conditionality {
        programme: String,
        service: String,
        from: NaiveDate,
        to: NaiveDate,
    },
    /// HL7 FHIR R4 (4.0.1): the CapabilityStatement (`resource_type`
    /// `"metadata"`), a read (`id`), or a search (`params`, as a query
    /// string gives them), answered as FHIR JSON text. Readers see exactly
    /// what the engine's other queries show them.
    Fhir {
        resource_type: String,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        id: Option<String>,
        #[serde(default)]
        params: Vec<FhirParam>,
        /// The server's FHIR base URL, for `fullUrl`s.
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        base_url: Option<String>,
    },
    /// iCalendar (RFC 5545) text: one appointment, a beneficiary's
    /// appointments, or the feed of an agenda or a facility over
    /// `[from, to)` (required for feeds, at most 366 days).
    Calendar {
        of: CalendarOf,
        /// The appointment number, beneficiary, agenda or facility id.
        id: String,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        from: Option<DateTime<Utc>>,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        to: Option<DateTime<Utc>>,
    },
}

fn default_limit() -> u32 {
    100
}

/// A free slot in a search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FreeSlot {
    pub agenda: String,
    pub facility: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub free: u16,
}

/// One slot in an agenda view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SlotView {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub capacity: u16,
    pub taken: u16,
}

/// One local day of an agenda view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DayView {
    pub date: NaiveDate,
    pub places: u32,
    pub taken: u32,
    /// Ordinary (non-referral) places still free that day.
    pub ordinary_free: u32,
    pub slots: Vec<SlotView>,
}

/// Fill and attendance of an agenda over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Utilization {
    pub places: u32,
    pub booked: u32,
    pub attended: u32,
    pub no_shows: u32,
    pub fill_rate: f64,
    pub no_show_rate: f64,
}

/// A referral on a worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WorkItem {
    pub referral: u32,
    pub beneficiary: String,
    pub service: String,
    pub priority: Priority,
    pub origin: String,
    pub status: ReferralStatus,
    /// What is due next: `accept` or `appointment`.
    pub due: String,
    pub deadline: DateTime<Utc>,
    /// Minutes left until the deadline; negative when overdue.
    pub minutes_left: i64,
}

/// A page of a worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Worklist {
    pub total: u32,
    pub overdue: u32,
    pub items: Vec<WorkItem>,
}

/// A target time missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Breach {
    pub referral: u32,
    pub priority: Priority,
    /// `accept` or `appointment`.
    pub target: String,
    pub due: DateTime<Utc>,
    /// When it was met, if it was (late).
    pub met_at: Option<DateTime<Utc>>,
    pub minutes_late: i64,
}

/// Attendance status of one beneficiary for a conditionality report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    Attended,
    Missed,
    Scheduled,
    NotScheduled,
}

/// One row of a conditionality report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConditionalityRow {
    pub beneficiary: String,
    pub name: String,
    pub status: Attendance,
    pub attended: u32,
    pub missed: u32,
    pub scheduled: u32,
}

/// The answer to a query. The JSON form is `{"type": "free_slots", "value": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Answer {
    Facilities(Vec<Facility>),
    Services(Vec<Service>),
    Agendas(Vec<AgendaConfig>),
    FreeSlots(Vec<FreeSlot>),
    AgendaView(Vec<DayView>),
    Appointments(Vec<AppointmentView>),
    Beneficiaries(Vec<Beneficiary>),
    Utilization(Utilization),
    Waitlist(Vec<WaitlistEntry>),
    Worklist(Worklist),
    Referrals(Vec<ReferralView>),
    Referral(Box<ReferralView>),
    Breaches(Vec<Breach>),
    Routing(Routing),
    Entries(Vec<Entry>),
    Verification(Verification),
    Conditionality(Vec<ConditionalityRow>),
    /// FHIR JSON text (a Bundle, a resource or the CapabilityStatement).
    Fhir(String),
    /// iCalendar text, CRLF line endings.
    Calendar(String),
}

/// Most entries one `audit_trail` answer holds.
pub const MAX_AUDIT_ENTRIES: u32 = 1000;
/// Most days one `agenda_view` shows.
pub const MAX_DAYS: u16 = 62;
/// Most slots one `free_slots` answer holds.
pub const MAX_SLOTS: u16 = 500;

/// Answers `q` for `actor` at `now`.
/// Kept whole as a table: one arm per case, so every case reads in one place (issue 14).
pub fn query(
    state: &State,
    journal: Held<'_>,
    actor: &Actor,
    q: &Query,
    now: DateTime<Utc>,
) -> Result<Answer> {
    use Query::*;
    crate::access::same_agency(state, actor)?;
    match q {
        Facilities => Ok(Answer::Facilities(state.facilities.clone())),
        Services => Ok(Answer::Services(state.services.values().cloned().collect())),
        Agendas { facility } => Ok(Answer::Agendas(
            state
                .agendas
                .iter()
                .filter(|a| facility.as_ref().is_none_or(|f| *f == a.config.facility))
                .map(|a| a.config.clone())
                .collect(),
        )),
        FreeSlots {
            service,
            region,
            tier,
            facilities,
            from,
            to,
            limit,
            for_referral,
        } => {
            if *limit == 0 || *limit > MAX_SLOTS {
                return Err(Error::invalid(
                    "limit",
                    format!("between 1 and {MAX_SLOTS}"),
                ));
            }
            if to < from {
                return Err(Error::invalid("to", "before from"));
            }
            if !state.services.contains_key(service) {
                return Err(Error::UnknownService(service.clone()));
            }
            let usage = if *for_referral {
                Use::Referral
            } else {
                Use::Ordinary
            };
            Ok(Answer::FreeSlots(free_slots(
                state,
                service,
                region.as_deref(),
                *tier,
                facilities,
                *from,
                *to,
                *limit,
                usage,
                now,
            )))
        }
        AgendaView { agenda, from, days } => {
            if *days == 0 || *days > MAX_DAYS {
                return Err(Error::invalid("days", format!("between 1 and {MAX_DAYS}")));
            }
            let (_, a) = crate::access::agenda_of(state, agenda)?;
            let mut out = Vec::new();
            let mut buf = Vec::new();
            let mut date = *from;
            for _ in 0..*days {
                day_slots(a, &state.holidays, date, &mut buf);
                let slots: Vec<SlotView> = buf
                    .iter()
                    .map(|&m| SlotView {
                        start: instant(m),
                        end: instant(m + i64::from(a.slot_minutes)),
                        capacity: a.config.capacity,
                        taken: a.taken(m),
                    })
                    .collect();
                let places = slots.len() as u32 * u32::from(a.config.capacity);
                let taken = slots.iter().map(|s| u32::from(s.taken)).sum();
                let ordinary_free = ordinary_left(a, &state.holidays, date);
                out.push(DayView {
                    date,
                    places,
                    taken,
                    ordinary_free,
                    slots,
                });
                date = date
                    .succ_opt()
                    .ok_or_else(|| Error::invalid("from", "out of range"))?;
            }
            Ok(Answer::AgendaView(out))
        }
        AgendaAppointments { agenda, date } => {
            let (idx, a) = crate::access::agenda_of(state, agenda)?;
            facility_reader(actor, &a.config.facility)?;
            let mut list: Vec<AppointmentView> = state
                .appointments
                .iter()
                .enumerate()
                .filter(|(_, x)| x.agenda == idx && crate::slot::local_date(a, x.start) == *date)
                .map(|(i, _)| view(state, actor, i as u32 + 1, now))
                .collect();
            list.sort_unstable_by_key(|v| (v.start, v.id));
            Ok(Answer::Appointments(list))
        }
        FindBeneficiaries { text } => {
            people_reader(actor)?;
            let fold = crate::beneficiary::search_fold;
            let needle = fold(text.trim());
            if needle.chars().count() < 2 {
                return Err(Error::invalid("text", "at least 2 characters"));
            }
            Ok(Answer::Beneficiaries(
                state
                    .beneficiaries
                    .iter()
                    .filter(|b| fold(&b.id).starts_with(&needle) || fold(&b.name).contains(&needle))
                    .take(50)
                    .cloned()
                    .collect(),
            ))
        }
        BeneficiaryAppointments { beneficiary } => {
            people_reader(actor)?;
            let b = crate::access::beneficiary_of(state, beneficiary)?;
            let mut list: Vec<AppointmentView> = state.by_beneficiary[b as usize]
                .iter()
                .map(|own| view(state, actor, own.id, now))
                .collect();
            list.sort_unstable_by_key(|v| (v.start, v.id));
            Ok(Answer::Appointments(list))
        }
        Utilization { agenda, from, to } => {
            let (idx, a) = crate::access::agenda_of(state, agenda)?;
            facility_reader(actor, &a.config.facility)?;
            if to < from || (*to - *from).num_days() > 366 {
                return Err(Error::invalid("to", "the period must be 1 to 366 days"));
            }
            Ok(Answer::Utilization(utilization(state, idx, *from, *to)))
        }
        Waitlist { service, facility } => {
            people_reader(actor)?;
            let mut list: Vec<WaitlistEntry> = state
                .waitlist
                .iter()
                .filter(|w| {
                    matches!(
                        w.status,
                        crate::waitlist::WaitlistStatus::Waiting
                            | crate::waitlist::WaitlistStatus::Offered
                    ) && service.as_ref().is_none_or(|s| *s == w.service)
                        && facility
                            .as_ref()
                            .is_none_or(|f| w.facility.as_ref().is_none_or(|wf| wf == f))
                })
                .cloned()
                .collect();
            list.sort_unstable_by_key(|w| (w.priority, w.id));
            Ok(Answer::Waitlist(list))
        }
        Worklist {
            facility,
            limit,
            offset,
        } => {
            facility_reader(actor, facility)?;
            if state.facility(facility).is_none() {
                return Err(Error::UnknownFacility(facility.clone()));
            }
            Ok(Answer::Worklist(worklist(
                state, facility, *limit, *offset, now,
            )))
        }
        OutgoingReferrals { facility } => {
            facility_reader(actor, facility)?;
            let mut list: Vec<ReferralView> = state
                .referrals_from
                .get(facility)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|&id| state.referral(id))
                        .map(|r| ReferralView::of(actor, r))
                        .collect()
                })
                .unwrap_or_default();
            list.sort_unstable_by_key(|v| Reverse(v.referral.id));
            Ok(Answer::Referrals(list))
        }
        Referral { referral } => Ok(Answer::Referral(Box::new(ReferralView::of(
            actor,
            crate::access::visible(state, actor, *referral)?,
        )))),
        BreachReport { facility, from, to } => {
            facility_reader(actor, facility)?;
            Ok(Answer::Breaches(breaches(state, facility, *from, *to, now)))
        }
        SuggestDestinations {
            beneficiary,
            service,
            tier,
            priority,
        } => {
            let origin = match (&actor.facility, actor.role) {
                (Some(f), Role::Clinician | Role::Coordinator) => state
                    .facility(f)
                    .ok_or_else(|| Error::UnknownFacility(f.clone()))?,
                _ => {
                    return Err(Error::not_permitted(
                        actor.role,
                        "ask for referral destinations",
                    ));
                }
            };
            Ok(Answer::Routing(suggest(
                state,
                origin,
                beneficiary,
                service,
                *tier,
                *priority,
                now,
            )?))
        }
        AuditTrail {
            facility,
            referral,
            after,
            limit,
        } => {
            if actor.role != Role::Auditor {
                return Err(Error::not_permitted(actor.role, "read the audit trail"));
            }
            let limit = (*limit).clamp(1, MAX_AUDIT_ENTRIES) as usize;
            let entries = journal
                .entries
                .iter()
                .filter(|e| e.seq > *after)
                .filter(|e| {
                    facility
                        .as_ref()
                        .is_none_or(|f| entry_touches_facility(state, e, f))
                        && referral.is_none_or(|r| entry_touches_referral(state, e, r))
                })
                .take(limit)
                .cloned()
                .collect();
            Ok(Answer::Entries(entries))
        }
        VerifyAudit => {
            if !matches!(actor.role, Role::Auditor | Role::Admin) {
                return Err(Error::not_permitted(actor.role, "verify the audit trail"));
            }
            Ok(Answer::Verification(verify_from(
                journal.entries,
                journal.after,
                journal.prev,
            )))
        }
        Conditionality {
            programme,
            service,
            from,
            to,
        } => {
            if !matches!(actor.role, Role::Auditor | Role::Admin) {
                return Err(Error::not_permitted(actor.role, "report conditionalities"));
            }
            if to < from {
                return Err(Error::invalid("to", "before from"));
            }
            Ok(Answer::Conditionality(conditionality(
                state, programme, service, *from, *to,
            )))
        }
        Fhir {
            resource_type,
            id,
            params,
            base_url,
        } => crate::interop::access::fhir(
            state,
            actor,
            resource_type,
            id.as_deref(),
            params,
            base_url.as_deref(),
            now,
        )
        .map(Answer::Fhir),
        Calendar { of, id, from, to } => {
            crate::interop::access::calendar(state, actor, *of, id, *from, *to, now)
                .map(Answer::Calendar)
        }
    }
}

/// An appointment with the actions `actor` may take on it now.
fn view(state: &State, actor: &Actor, id: u32, now: DateTime<Utc>) -> AppointmentView {
    let mut v = state
        .appointment_view(id)
        .expect("queries list only appointments the state holds");
    v.actions = crate::booking::permitted(state, actor, id, now);
    v
}

#[allow(clippy::too_many_arguments)]
fn free_slots(
    state: &State,
    service: &str,
    region: Option<&str>,
    tier: Option<Tier>,
    facilities: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u16,
    usage: Use,
    now: DateTime<Utc>,
) -> Vec<FreeSlot> {
    let Some(candidates) = state.agendas_by_service.get(service) else {
        return Vec::new();
    };
    let now_m = minute_of(now);
    let (from_up, now_up, to_m) = (
        minute_at_or_after(from),
        minute_at_or_after(now),
        minute_of(to),
    );
    // Every agenda that may answer, with a lower bound of its first free
    // slot: its first slot by the weekly rules, computed once per schedule
    // shape and window start (a region's agendas share a handful of shapes).
    // Walkers, which cost a time-zone conversion and a day of slots each,
    // are started only for the agendas whose bound comes before the answers
    // found so far: for "the 10 earliest" that is a few dozen of thousands.
    let mut bounds: rustc_hash::FxHashMap<(u32, Minute), Minute> = Default::default();
    let mut waiting: Vec<Reverse<(Minute, u32, Minute, Minute)>> = Vec::new();
    let filtered = region.is_some() || tier.is_some() || !facilities.is_empty();
    for &ai in candidates {
        let k = &state.search_keys[ai as usize];
        if filtered {
            let f = &state.facilities[k.facility as usize];
            if region.is_some_and(|r| r != f.region)
                || tier.is_some_and(|t| t != f.tier)
                || (!facilities.is_empty() && !facilities.contains(&f.id))
            {
                continue;
            }
        }
        // Round up: a slot may start neither before `from` nor sooner than
        // the notice after `now`, seconds included, as booking checks it.
        let lo = from_up.max(now_up + i64::from(k.min_notice_minutes));
        let hi = to_m.min(now_m + i64::from(k.horizon_days) * 1440);
        if hi < lo {
            continue;
        }
        let bound = *bounds
            .entry((k.shape, lo))
            .or_insert_with(|| crate::slot::first_rule_slot(&state.agendas[ai as usize], lo));
        if bound <= hi {
            waiting.push(Reverse((bound, ai, lo, hi)));
        }
    }
    // Lowest (bound, agenda) first; heapified in linear time.
    let mut waiting = BinaryHeap::from(waiting);
    let mut walkers: Vec<FreeSlots<'_>> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(Minute, u32, usize, u16)>> = BinaryHeap::new();
    let mut out = Vec::with_capacity(limit as usize);
    while out.len() < limit as usize {
        // Answers go out in (start, agenda) order, as if every walker had
        // started: one that has not cannot give anything before its bound.
        while let Some(&Reverse((bound, ai, lo, hi))) = waiting.peek() {
            if heap
                .peek()
                .is_some_and(|Reverse((m, top, _, _))| (*m, *top) < (bound, ai))
            {
                break;
            }
            waiting.pop();
            let a = &state.agendas[ai as usize];
            let mut w = FreeSlots::new(a, &state.holidays, usage, lo, hi);
            if let Some((m, free)) = w.next() {
                heap.push(Reverse((m, ai, walkers.len(), free)));
                walkers.push(w);
            }
        }
        let Some(Reverse((m, ai, wi, free))) = heap.pop() else {
            break;
        };
        let a = &state.agendas[ai as usize];
        out.push(FreeSlot {
            agenda: a.config.id.clone(),
            facility: a.config.facility.clone(),
            start: instant(m),
            end: instant(m + i64::from(a.slot_minutes)),
            free,
        });
        if let Some((m, free)) = walkers[wi].next() {
            heap.push(Reverse((m, ai, wi, free)));
        }
    }
    out
}

/// The free-slot search with a walker for every candidate agenda: the
/// reference the bounded search is checked against.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
fn free_slots_every_walker(
    state: &State,
    service: &str,
    region: Option<&str>,
    tier: Option<Tier>,
    facilities: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u16,
    usage: Use,
    now: DateTime<Utc>,
) -> Vec<FreeSlot> {
    let Some(candidates) = state.agendas_by_service.get(service) else {
        return Vec::new();
    };
    let now_m = minute_of(now);
    let mut walkers: Vec<(u32, FreeSlots<'_>)> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(Minute, u32, usize, u16)>> = BinaryHeap::new();
    for &ai in candidates {
        let a = &state.agendas[ai as usize];
        let f = &state.facilities[a.facility as usize];
        if region.is_some_and(|r| r != f.region)
            || tier.is_some_and(|t| t != f.tier)
            || (!facilities.is_empty() && !facilities.contains(&f.id))
        {
            continue;
        }
        // Round up: a slot may start neither before `from` nor sooner than
        // the notice after `now`, seconds included, as booking checks it.
        let lo = minute_at_or_after(from)
            .max(minute_at_or_after(now) + i64::from(a.config.min_notice_minutes));
        let hi = minute_of(to).min(now_m + i64::from(a.config.horizon_days) * 1440);
        if hi < lo {
            continue;
        }
        let mut w = FreeSlots::new(a, &state.holidays, usage, lo, hi);
        if let Some((m, free)) = w.next() {
            heap.push(Reverse((m, ai, walkers.len(), free)));
            walkers.push((ai, w));
        }
    }
    let mut out = Vec::with_capacity(limit as usize);
    while let Some(Reverse((m, ai, wi, free))) = heap.pop() {
        let a = &state.agendas[ai as usize];
        out.push(FreeSlot {
            agenda: a.config.id.clone(),
            facility: a.config.facility.clone(),
            start: instant(m),
            end: instant(m + i64::from(a.slot_minutes)),
            free,
        });
        if out.len() >= limit as usize {
            break;
        }
        if let Some((m, free)) = walkers[wi].1.next() {
            heap.push(Reverse((m, ai, wi, free)));
        }
    }
    out
}

fn utilization(state: &State, agenda: u32, from: NaiveDate, to: NaiveDate) -> Utilization {
    let a = &state.agendas[agenda as usize];
    let mut places = 0u32;
    let mut buf = Vec::new();
    let mut d = from;
    while d <= to {
        day_slots(a, &state.holidays, d, &mut buf);
        places += buf.len() as u32 * u32::from(a.config.capacity);
        let Some(n) = d.succ_opt() else { break };
        d = n;
    }
    let (mut booked, mut attended, mut no_shows) = (0u32, 0u32, 0u32);
    for x in state.appointments.iter().filter(|x| x.agenda == agenda) {
        let date = crate::slot::local_date(a, x.start);
        if date < from || date > to {
            continue;
        }
        match x.status {
            AppointmentStatus::Booked => booked += 1,
            AppointmentStatus::Arrived | AppointmentStatus::Fulfilled => {
                booked += 1;
                attended += 1;
            }
            AppointmentStatus::NoShow => {
                booked += 1;
                no_shows += 1;
            }
            AppointmentStatus::Cancelled | AppointmentStatus::Rescheduled => {}
        }
    }
    let ratio = |n: u32, d: u32| {
        if d == 0 {
            0.0
        } else {
            f64::from(n) / f64::from(d)
        }
    };
    Utilization {
        places,
        booked,
        attended,
        no_shows,
        fill_rate: ratio(booked, places),
        no_show_rate: ratio(no_shows, attended + no_shows),
    }
}

fn worklist(
    state: &State,
    facility: &str,
    limit: u32,
    offset: u32,
    now: DateTime<Utc>,
) -> Worklist {
    let ids = state
        .referrals_to
        .get(facility)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    // The compact keys hold status, destination and deadline: the whole
    // records are read only for the page returned. Each key is packed into
    // one integer in the order (deadline, priority, id), and only the
    // `offset + limit` smallest are kept (a bounded max-heap), so that a
    // long worklist costs neither a large allocation nor a full sort.
    let here = state.facility_index.get(facility).copied();
    let due_now = work_order(now, Priority::Emergency, 0);
    let keep = (offset as usize).saturating_add(limit.clamp(1, 1000) as usize);
    let mut best: BinaryHeap<u128> = BinaryHeap::with_capacity(keep.min(ids.len()));
    let (mut total, mut overdue) = (0u32, 0u32);
    for &id in ids {
        let Some(k) = state.work_keys.get((id as usize).wrapping_sub(1)) else {
            continue;
        };
        if !k.open || Some(k.destination) != here {
            continue;
        }
        let key = work_order(k.deadline, k.priority, id);
        total += 1;
        overdue += u32::from(key < due_now);
        if best.len() < keep {
            best.push(key);
        } else if let Some(mut max) = best.peek_mut()
            && key < *max
        {
            *max = key;
        }
    }
    let keys = best.into_sorted_vec();
    let (start, end) = ((offset as usize).min(keys.len()), keys.len());
    let items = keys[start..end]
        .iter()
        .filter_map(|&k| {
            let id = k as u32;
            let r = state.referral(id)?;
            let (due, deadline) = r.next_deadline();
            Some(WorkItem {
                referral: id,
                beneficiary: r.beneficiary.clone(),
                service: r.service.clone(),
                priority: r.priority,
                origin: r.origin.clone(),
                status: r.status,
                due: due.to_owned(),
                deadline,
                minutes_left: (deadline - now).num_minutes(),
            })
        })
        .collect();
    Worklist {
        total,
        overdue,
        items,
    }
}

/// A worklist sort key: orders as the tuple `(deadline, priority, id)`.
/// Seconds (chrono keeps them within ±2^44) take the top 62 bits, then the
/// nanoseconds (below 2^31, leap seconds included), the priority and the id.
fn work_order(deadline: DateTime<Utc>, priority: Priority, id: u32) -> u128 {
    let secs = (deadline.timestamp() + (1 << 61)) as u128;
    (secs << 66)
        | (u128::from(deadline.timestamp_subsec_nanos()) << 34)
        | ((priority as u128) << 32)
        | u128::from(id)
}

fn breaches(
    state: &State,
    facility: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Breach> {
    let mut out = Vec::new();
    let ids = state
        .referrals_to
        .get(facility)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for r in ids.iter().filter_map(|&id| state.referral(id)) {
        if r.destination != facility {
            continue;
        }
        let mut check =
            |target: &str, due: DateTime<Utc>, met: Option<DateTime<Utc>>, applies: bool| {
                if !applies || due < from || due > to {
                    return;
                }
                let late = match met {
                    Some(m) if m > due => Some((m - due).num_minutes()),
                    Some(_) => None,
                    None if now > due => Some((now - due).num_minutes()),
                    None => None,
                };
                if let Some(minutes_late) = late {
                    out.push(Breach {
                        referral: r.id,
                        priority: r.priority,
                        target: target.to_owned(),
                        due,
                        met_at: met,
                        minutes_late,
                    });
                }
            };
        let withdrawn = matches!(r.status, ReferralStatus::Cancelled);
        check(
            "accept",
            r.accept_due,
            r.accepted_at.or(decided_at(r)),
            !withdrawn,
        );
        let needs_visit = !matches!(
            r.status,
            ReferralStatus::Rejected | ReferralStatus::Cancelled
        );
        check(
            "appointment",
            r.appointment_due,
            r.first_appointment_start,
            needs_visit,
        );
    }
    out.sort_unstable_by_key(|b| (b.due, b.referral));
    out
}

/// When a rejected referral was answered (a rejection meets the accept target).
fn decided_at(r: &ReferralRecord) -> Option<DateTime<Utc>> {
    r.timeline
        .iter()
        .find(|s| s.event == "referral_rejected")
        .map(|s| s.at)
}

fn utilization_status(attended: u32, missed: u32, scheduled: u32) -> Attendance {
    if attended > 0 {
        Attendance::Attended
    } else if missed > 0 {
        Attendance::Missed
    } else if scheduled > 0 {
        Attendance::Scheduled
    } else {
        Attendance::NotScheduled
    }
}

fn conditionality(
    state: &State,
    programme: &str,
    service: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<ConditionalityRow> {
    let mut rows = Vec::new();
    for (bi, b) in state.beneficiaries.iter().enumerate() {
        let enrolled = b.coverage.iter().any(|c| {
            c.programme == programme
                && c.valid_from <= to
                && c.valid_to.is_none_or(|end| end >= from)
        });
        if !enrolled {
            continue;
        }
        let (mut attended, mut missed, mut scheduled) = (0, 0, 0);
        for own in &state.by_beneficiary[bi] {
            let x = &state.appointments[own.id as usize - 1];
            let a = &state.agendas[x.agenda as usize];
            if a.config.service != service {
                continue;
            }
            let date = crate::slot::local_date(a, x.start);
            if date < from || date > to {
                continue;
            }
            match x.status {
                AppointmentStatus::Arrived | AppointmentStatus::Fulfilled => attended += 1,
                AppointmentStatus::NoShow => missed += 1,
                AppointmentStatus::Booked => scheduled += 1,
                _ => {}
            }
        }
        rows.push(ConditionalityRow {
            beneficiary: b.id.clone(),
            name: b.name.clone(),
            status: utilization_status(attended, missed, scheduled),
            attended,
            missed,
            scheduled,
        });
    }
    rows
}

fn entry_touches_referral(state: &State, e: &Entry, referral: u32) -> bool {
    use crate::event::Event::*;
    e.events.iter().any(|ev| {
        ev.referral() == Some(referral)
            // Steps of the referral's appointments: a clerk cancelling one
            // returns the referral to accepted.
            || match ev {
                AppointmentCancelled { appointment, .. }
                | AppointmentRescheduled { appointment, .. }
                | AppointmentArrived { appointment }
                | AppointmentFulfilled { appointment }
                | AppointmentNoShow { appointment } => state
                    .appointment(*appointment)
                    .is_some_and(|a| a.referral == referral),
                _ => false,
            }
    })
}

/// True when an entry was made at the facility or changed something of it.
fn entry_touches_facility(state: &State, e: &Entry, facility: &str) -> bool {
    use crate::event::Event::*;
    if e.actor.facility.as_deref() == Some(facility) {
        return true;
    }
    e.events.iter().any(|ev| match ev {
        FacilityRegistered { facility: f } => f.id == facility,
        AgendaDefined { agenda } => agenda.facility == facility,
        ClosureAdded { agenda, .. } => state
            .agenda(agenda)
            .is_some_and(|a| a.config.facility == facility),
        AppointmentBooked { facility: f, .. } if f == facility => true,
        // Every step of a referral the facility takes part in, as the
        // referral's timeline shows it to the facility: its creation,
        // redirections and escalations, and what happened after it left.
        _ => ev
            .referral()
            .and_then(|r| state.referral(r))
            .is_some_and(|r| r.involves(facility)),
    })
}

#[cfg(test)]
mod free_slot_tests {
    //! The bounded free-slot search starts walkers lazily; it must answer
    //! exactly what a walker for every agenda answers.

    use super::*;
    use crate::engine::Engine;
    use crate::synth::{self, Rng, Spec};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// A network of 60 facilities in five regions and zones (with and
    /// without daylight saving), 4 agendas each, a third of the clinics'
    /// places booked, closures on a few days.
    fn world() -> &'static (Spec, Engine) {
        static W: OnceLock<(Spec, Engine)> = OnceLock::new();
        W.get_or_init(|| {
            let spec = Spec {
                seed: 11,
                tier1: 45,
                tier2: 12,
                tier3: 3,
                agendas_per_facility: 4,
                beneficiaries: 3_000,
                ..Spec::demo()
            };
            let mut e = Engine::new();
            for r in synth::reference(&spec) {
                e.execute(r).unwrap();
            }
            let mut rng = Rng::new(5);
            for _ in 0..6_000 {
                let _ = e.execute(synth::booking(&spec, &mut rng));
            }
            let admin = synth::admin();
            for (i, agenda) in ["F0001-A01", "F0002-A02", "F0010-A01", "F0047-A01"]
                .iter()
                .enumerate()
            {
                let date = spec.start.date_naive() + chrono::Duration::days(2 + i as i64);
                let _ = e.execute(crate::Request {
                    actor: admin.clone(),
                    at: spec.start,
                    key: None,
                    command: crate::Command::AddClosure {
                        agenda: (*agenda).to_owned(),
                        closure: crate::agenda::Closure {
                            date,
                            from: (i % 2 == 1)
                                .then(|| chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap()),
                            to: (i % 2 == 1)
                                .then(|| chrono::NaiveTime::from_hms_opt(11, 30, 0).unwrap()),
                            reason: "training".into(),
                        },
                    },
                });
            }
            (spec, e)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn the_bounded_search_answers_what_every_walker_answers(
            service in 0usize..4,
            region in proptest::option::of(0usize..5),
            tier in proptest::option::of(1u8..=3),
            now_min in 0i64..(20 * 1440),
            ahead in -600i64..(10 * 1440),
            span in 30i64..(25 * 1440),
            limit in 1u16..=60,
            referral in any::<bool>(),
        ) {
            let (spec, e) = world();
            let state = e.state();
            let services: Vec<&String> = state.services.keys().collect();
            let service = services[service % services.len()];
            let regions: Vec<&str> = {
                let mut r: Vec<&str> = state.facilities.iter().map(|f| f.region.as_str()).collect();
                r.sort_unstable();
                r.dedup();
                r
            };
            let region = region.map(|i| regions[i % regions.len()]);
            let tier = tier.and_then(|t| match t {
                1 => Some(Tier::First),
                2 => Some(Tier::Second),
                3 => Some(Tier::Third),
                _ => None,
            });
            let now = spec.start + chrono::Duration::minutes(now_min) + chrono::Duration::seconds(17);
            let from = now + chrono::Duration::minutes(ahead);
            let to = from + chrono::Duration::minutes(span);
            let usage = if referral { Use::Referral } else { Use::Ordinary };
            let fast = free_slots(state, service, region, tier, &[], from, to, limit, usage, now);
            let every = free_slots_every_walker(state, service, region, tier, &[], from, to, limit, usage, now);
            prop_assert_eq!(fast, every);
        }
    }
}
