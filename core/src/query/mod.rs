//! Queries: read-only questions, authorized like commands.

use crate::access::{facility_reader, people_reader};
use crate::actor::{Actor, Role};
use crate::agenda::AgendaConfig;
use crate::beneficiary::Beneficiary;
use crate::error::{Error, Result, Rule};
use crate::facility::{Facility, Service, Tier};
pub use crate::interop::{CalendarOf, FhirParam};
use crate::journal::{Entry, Held, Verification, verify_from};
use crate::priority::Priority;
use crate::referral::routing::{Routing, suggest};
use crate::slot::{Use, day_slots, instant, ordinary_left};
use crate::state::State;
pub use crate::view::{AppointmentView, ReferralView};
use crate::waitlist::WaitlistEntry;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;

mod reports;
mod slots;
mod worklist;

pub use reports::{Attendance, Breach, ConditionalityRow, Utilization};
use reports::{breaches, conditionality, utilization};
use slots::free_slots;
pub use slots::{DayView, FreeSlot, SlotView};
use worklist::worklist;
pub use worklist::{WorkItem, Worklist};

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

impl Query {
    /// Refuses a date or instant whose year is outside
    /// [`crate::error::YEARS`], as commands do.
    pub(crate) fn check_years(&self) -> Result<()> {
        use crate::validate::{date, instant};
        use Query::*;
        let opt = |field: &str, t: &Option<DateTime<Utc>>| t.map_or(Ok(()), |t| instant(field, t));
        match self {
            FreeSlots { from, to, .. } | BreachReport { from, to, .. } => {
                instant("from", *from)?;
                instant("to", *to)
            }
            AgendaView { from, .. } => date("from", *from),
            AgendaAppointments { date: d, .. } => date("date", *d),
            Utilization { from, to, .. } | Conditionality { from, to, .. } => {
                date("from", *from)?;
                date("to", *to)
            }
            Calendar { from, to, .. } => {
                opt("from", from)?;
                opt("to", to)
            }
            Facilities
            | Services
            | Agendas { .. }
            | FindBeneficiaries { .. }
            | BeneficiaryAppointments { .. }
            | Waitlist { .. }
            | Worklist { .. }
            | OutgoingReferrals { .. }
            | Referral { .. }
            | SuggestDestinations { .. }
            | AuditTrail { .. }
            | VerifyAudit
            | Fhir { .. } => Ok(()),
        }
    }
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

/// How many entries an `audit_trail` answer holds for the `limit` asked: at
/// least one, at most [`MAX_AUDIT_ENTRIES`]. A face that pages an audit
/// trail through its own journal cuts its answer at the same place.
pub fn audit_page(limit: u32) -> usize {
    limit.clamp(1, MAX_AUDIT_ENTRIES) as usize
}
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
    q.check_years()?;
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
                    Rule::OutOfRange {
                        min: 1,
                        max: MAX_SLOTS.into(),
                    },
                ));
            }
            if to < from {
                return Err(Error::invalid("to", Rule::Before { other: "from" }));
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
                return Err(Error::invalid(
                    "days",
                    Rule::OutOfRange {
                        min: 1,
                        max: MAX_DAYS.into(),
                    },
                ));
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
                    .ok_or_else(|| Error::malformed("from", "out of range"))?;
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
                return Err(Error::invalid("text", Rule::TooShort { min: 2 }));
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
                return Err(Error::invalid("to", Rule::PeriodDays { min: 0, max: 366 }));
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
            crate::access::auditor(actor, "read the audit trail")?;
            let limit = audit_page(*limit);
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
                return Err(Error::invalid("to", Rule::Before { other: "from" }));
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
