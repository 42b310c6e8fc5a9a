//! Enlace as HL7 FHIR R4 (4.0.1) resources.
//!
//! # Mapping
//!
//! | Enlace | FHIR R4 |
//! |---|---|
//! | agency | `Organization` (one per agency) |
//! | facility | `Location` (tier in `type`, region in `address.district`, IANA time zone in the standard `timezone` extension, `managingOrganization` → its agency) |
//! | service offered at a facility | `HealthcareService` (one per facility and service; `availableTime` is the union of the facility's agendas for it) |
//! | agenda | `Schedule` (actors: `Location`, `HealthcareService`, the practitioner by display; `planningHorizon` = the agenda's validity; weekly rules and booking policy in `urn:enlace:fhir:*` extensions) |
//! | slots of a window | `Slot`: `free` (places left), `busy` (full), `busy-unavailable` (a holiday or closure takes it) |
//! | appointment | `Appointment`: booked, arrived, fulfilled, cancelled, noshow; a rescheduled appointment is `cancelled` with the reason, its successor links back with the R5 `previousAppointment` cross-version extension |
//! | waitlist entry | `Appointment` with status `waitlist` (no start yet: R4 allows a waitlisted appointment without times); an entry that left is `cancelled`, a satisfied one is not exported (its booked appointment is) |
//! | beneficiary | `Patient` (national id as `identifier` in the system the caller names) |
//! | coverage by a programme | `Coverage` (payor = the programme's agency, class `plan` = the programme) |
//! | referral | `ServiceRequest` (the order) + `Task` (its closed-loop life) |
//! | counter-referral | `Communication` based on the `ServiceRequest`, listed in `Task.output` |
//! | agreement | `Contract` |
//!
//! Priority: Enlace's four levels map in order onto FHIR's four: routine →
//! `routine`, priority → `urgent`, urgent → `asap`, emergency → `stat`
//! (FHIR: urgent is "higher than routine", asap "higher than urgent", stat
//! "immediately, e.g. an emergency"). Appointment.priority, an iCalendar-style
//! number, is 1 (emergency), 2 (urgent), 5 (priority), 9 (routine).
//!
//! Referral status → `ServiceRequest.status`: open steps are `active`;
//! counter-referred and completed are `completed` (the care was given);
//! rejected, cancelled and closed-without-care are `revoked`.
//!
//! Referral status → `Task.status` / `Task.businessStatus` (code system
//! [`SYSTEM_REFERRAL_STEP`]): requested → `requested` / requested, redirected
//! or escalated; received → `received`; accepted → `accepted` / accepted, or
//! no-show after a missed appointment; scheduled → `accepted` / scheduled;
//! in progress → `in-progress` / arrived; counter-referred → `completed` /
//! counter-referral-sent; completed → `completed` / completed (the origin
//! acknowledged: the loop is closed); rejected → `rejected` / declined;
//! cancelled → `cancelled`; closed → `failed` / closed.
//!
//! The origin of a referral is a facility, which FHIR's `requester` cannot
//! name directly (it takes no `Location`): it is a contained
//! `PractitionerRole` (`#origin`) of the origin's agency at the origin's
//! Location, with the referring user as the practitioner's display.
//!
//! Agreements are `Contract`s rather than `Coverage`: an Enlace agreement is
//! between two agencies (who may refer to whom, for which services and tiers,
//! who pays), which is what `Contract` (parties, terms, assets) describes;
//! `Coverage` describes one person's entitlement, and is used for the
//! beneficiaries' coverage by programmes.

use super::{
    EXTENSION_BASE, EXTENSION_TIMEZONE, InteropError, SYSTEM_AGENCY, SYSTEM_AGENDA,
    SYSTEM_AGREEMENT, SYSTEM_APPOINTMENT, SYSTEM_ATTACHMENT, SYSTEM_ENLACE, SYSTEM_FACILITY,
    SYSTEM_NATIONAL_ID, SYSTEM_REFERRAL, SYSTEM_REFERRAL_STEP, SYSTEM_SERVICE, SYSTEM_TIER,
    SYSTEM_WAITLIST, date, fhir_id, instant,
};
use crate::agenda::AgendaConfig;
use crate::agreement::{Agreement, CostBearer};
use crate::appointment::AppointmentStatus;
use crate::beneficiary::{Beneficiary, Sex};
use crate::facility::{Facility, Service, Tier};
use crate::priority::Priority;
use crate::query::AppointmentView;
use crate::referral::{CareOutcome, Referral, ReferralStatus};
use crate::state::State;
use crate::view::{AgendaInfo, SlotInfo, SlotState};
use crate::waitlist::{WaitlistEntry, WaitlistStatus};
use chrono::{DateTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// ICD-10, the code system of referral reasons and counter-referral diagnoses.
pub const SYSTEM_ICD10: &str = "http://hl7.org/fhir/sid/icd-10";

/// The longest slot window one export or search may cover, in days.
pub const MAX_WINDOW_DAYS: i64 = 62;
/// The most slots one export or search may produce.
pub const MAX_SLOTS: usize = 50_000;

/// The kinds of resources the export produces, in Bundle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceKind {
    Organization,
    Location,
    HealthcareService,
    Schedule,
    Slot,
    Appointment,
    Patient,
    Coverage,
    ServiceRequest,
    Task,
    Communication,
    Contract,
}

impl ResourceKind {
    /// Every kind, in Bundle order.
    pub const ALL: [ResourceKind; 12] = [
        ResourceKind::Organization,
        ResourceKind::Location,
        ResourceKind::HealthcareService,
        ResourceKind::Schedule,
        ResourceKind::Slot,
        ResourceKind::Appointment,
        ResourceKind::Patient,
        ResourceKind::Coverage,
        ResourceKind::ServiceRequest,
        ResourceKind::Task,
        ResourceKind::Communication,
        ResourceKind::Contract,
    ];

    /// The FHIR resource type name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Organization => "Organization",
            ResourceKind::Location => "Location",
            ResourceKind::HealthcareService => "HealthcareService",
            ResourceKind::Schedule => "Schedule",
            ResourceKind::Slot => "Slot",
            ResourceKind::Appointment => "Appointment",
            ResourceKind::Patient => "Patient",
            ResourceKind::Coverage => "Coverage",
            ResourceKind::ServiceRequest => "ServiceRequest",
            ResourceKind::Task => "Task",
            ResourceKind::Communication => "Communication",
            ResourceKind::Contract => "Contract",
        }
    }

    /// The kind of a FHIR resource type name.
    pub fn parse(name: &str) -> Option<Self> {
        ResourceKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// `collection` for a plain export, `searchset` for search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BundleType {
    #[default]
    Collection,
    Searchset,
}

/// A half-open window of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The kinds of resources; empty means all. `Slot` needs a `window`.
    #[serde(default)]
    pub kinds: Vec<ResourceKind>,
    /// Only what concerns these facilities (empty: the whole network).
    /// Patients and coverages are then those of the exported appointments,
    /// waitlist entries and referrals.
    #[serde(default)]
    pub facilities: Vec<String>,
    /// Slots are exported for this window, at most [`MAX_WINDOW_DAYS`]
    /// long; appointments are then limited to those starting in it.
    #[serde(default)]
    pub window: Option<Window>,
    /// The instant of the export: the Bundle's timestamp, and "today" for
    /// whether a schedule or an agreement is in force.
    pub now: DateTime<Utc>,
    #[serde(default)]
    pub bundle_type: BundleType,
    /// The server's FHIR base URL (`https://host/fhir`); entries then get a
    /// `fullUrl`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The identifier system of beneficiaries' national ids (default
    /// [`SYSTEM_NATIONAL_ID`]).
    #[serde(default)]
    pub national_id_system: Option<String>,
}

impl ExportRequest {
    /// Everything the network holds (no slots), as a collection.
    pub fn all(now: DateTime<Utc>) -> Self {
        ExportRequest {
            kinds: Vec::new(),
            facilities: Vec::new(),
            window: None,
            now,
            bundle_type: BundleType::Collection,
            base_url: None,
            national_id_system: None,
        }
    }
}

/// Exports the requested resources as a Bundle.
pub fn export_bundle(state: &State, req: &ExportRequest) -> Result<Value, InteropError> {
    let resources = export_resources(state, req)?;
    let total = resources.len();
    Ok(bundle(
        req.bundle_type,
        resources,
        req.now,
        req.base_url.as_deref(),
        Some(total),
    ))
}

/// Wraps resources in a Bundle. `total` is written for search sets only
/// (FHIR allows it nowhere else).
pub fn bundle(
    kind: BundleType,
    resources: Vec<Value>,
    now: DateTime<Utc>,
    base_url: Option<&str>,
    total: Option<usize>,
) -> Value {
    let search = kind == BundleType::Searchset;
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|resource| {
            let mut entry = serde_json::Map::new();
            if let Some(base) = base_url {
                let rt = resource["resourceType"].as_str().unwrap_or_default();
                let id = resource["id"].as_str().unwrap_or_default();
                entry.insert(
                    "fullUrl".into(),
                    json!(format!("{}/{rt}/{id}", base.trim_end_matches('/'))),
                );
            }
            entry.insert("resource".into(), resource);
            if search {
                entry.insert("search".into(), json!({"mode": "match"}));
            }
            Value::Object(entry)
        })
        .collect();
    let mut b = json!({
        "resourceType": "Bundle",
        "type": if search { "searchset" } else { "collection" },
        "timestamp": instant(now),
    });
    if search {
        b["total"] = json!(total.unwrap_or(entries.len()));
    }
    if !entries.is_empty() {
        b["entry"] = Value::Array(entries);
    }
    b
}

/// The resources of an export, in [`ResourceKind::ALL`] order.
pub fn export_resources(state: &State, req: &ExportRequest) -> Result<Vec<Value>, InteropError> {
    let wants = |k: ResourceKind| req.kinds.is_empty() || req.kinds.contains(&k);
    for f in &req.facilities {
        if state.find_facility(f).is_none() {
            return Err(InteropError::Unknown {
                kind: "facility".into(),
                id: f.clone(),
            });
        }
    }
    let in_scope =
        |facility: &str| req.facilities.is_empty() || req.facilities.iter().any(|f| f == facility);
    if let Some(w) = &req.window {
        check_window(w)?;
    }
    if req.kinds.contains(&ResourceKind::Slot) && req.window.is_none() {
        return Err(InteropError::param("window", "required to export slots"));
    }
    let system = req
        .national_id_system
        .as_deref()
        .unwrap_or(SYSTEM_NATIONAL_ID);
    let today = req.now.date_naive();
    let facilities: Vec<&Facility> = state
        .facilities()
        .iter()
        .filter(|f| in_scope(&f.id))
        .collect();

    // The records in scope, decided first so that patients and agencies can
    // follow what is exported.
    let appointments: Vec<AppointmentView> = state
        .appointment_views()
        .filter(|a| in_scope(&a.facility))
        .filter(|a| {
            req.window
                .is_none_or(|w| a.start >= w.start && a.start < w.end)
        })
        .collect();
    let waitlist: Vec<&WaitlistEntry> = state
        .waitlist()
        .iter()
        .filter(|w| w.status != WaitlistStatus::Satisfied)
        .filter(|w| req.facilities.is_empty() || w.facility.as_deref().is_some_and(&in_scope))
        .collect();
    let referrals: Vec<&Referral> = state
        .referrals()
        .iter()
        .filter(|r| req.facilities.is_empty() || req.facilities.iter().any(|f| r.involves(f)))
        .collect();
    let agencies_in_scope: BTreeSet<&str> = facilities.iter().map(|f| f.agency.as_str()).collect();
    let agreements: Vec<&Agreement> = state
        .agreements()
        .filter(|a| {
            req.facilities.is_empty()
                || agencies_in_scope.contains(a.referring_agency.as_str())
                || agencies_in_scope.contains(a.receiving_agency.as_str())
        })
        .collect();
    let beneficiaries: Vec<&Beneficiary> = if req.facilities.is_empty() {
        state.beneficiaries().iter().collect()
    } else {
        let ids: BTreeSet<&str> = appointments
            .iter()
            .map(|a| a.beneficiary.as_str())
            .chain(waitlist.iter().map(|w| w.beneficiary.as_str()))
            .chain(referrals.iter().map(|r| r.beneficiary.as_str()))
            .collect();
        state
            .beneficiaries()
            .iter()
            .filter(|b| ids.contains(b.id.as_str()))
            .collect()
    };

    let mut out = Vec::new();
    if wants(ResourceKind::Organization) {
        let mut agencies: BTreeSet<&str> = agencies_in_scope.clone();
        for a in &agreements {
            agencies.insert(&a.referring_agency);
            agencies.insert(&a.receiving_agency);
        }
        if wants(ResourceKind::Coverage) {
            for b in &beneficiaries {
                agencies.extend(b.coverage.iter().map(|c| c.agency.as_str()));
            }
        }
        out.extend(agencies.into_iter().map(organization));
    }
    if wants(ResourceKind::Location) {
        out.extend(facilities.iter().map(|f| location(f)));
    }
    if wants(ResourceKind::HealthcareService) {
        for f in &facilities {
            for code in &f.services {
                if let Some(s) = state.service(code) {
                    out.push(healthcare_service(state, f, s));
                }
            }
        }
    }
    if wants(ResourceKind::Schedule) {
        out.extend(
            state
                .agendas()
                .filter(|a| in_scope(&a.config.facility))
                .map(|a| schedule(state, a, today)),
        );
    }
    if wants(ResourceKind::Slot)
        && let Some(w) = &req.window
    {
        let mut n = 0;
        for a in state.agendas().filter(|a| in_scope(&a.config.facility)) {
            let slots = state
                .agenda_slots(&a.config.id, w.start, w.end)
                .unwrap_or_default();
            n += slots.len();
            if n > MAX_SLOTS {
                return Err(InteropError::param(
                    "window",
                    format!("more than {MAX_SLOTS} slots: narrow the window or the facilities"),
                ));
            }
            out.extend(slots.iter().map(|s| slot(state, a.config, s)));
        }
    }
    if wants(ResourceKind::Appointment) {
        out.extend(appointments.iter().map(|a| appointment(state, a)));
        out.extend(waitlist.iter().map(|w| waitlist_appointment(state, w)));
    }
    if wants(ResourceKind::Patient) {
        out.extend(beneficiaries.iter().map(|b| patient(b, system)));
    }
    if wants(ResourceKind::Coverage) {
        for b in &beneficiaries {
            out.extend(coverages(b));
        }
    }
    if wants(ResourceKind::ServiceRequest) {
        out.extend(referrals.iter().map(|r| service_request(state, r)));
    }
    if wants(ResourceKind::Task) {
        out.extend(referrals.iter().map(|r| task(state, r)));
    }
    if wants(ResourceKind::Communication) {
        out.extend(referrals.iter().filter_map(|r| communication(state, r)));
    }
    if wants(ResourceKind::Contract) {
        out.extend(agreements.iter().map(|a| contract(a, today)));
    }
    Ok(out)
}

pub(crate) fn check_window(w: &Window) -> Result<(), InteropError> {
    if w.end <= w.start {
        return Err(InteropError::param("window", "end must be after start"));
    }
    if (w.end - w.start).num_days() > MAX_WINDOW_DAYS {
        return Err(InteropError::param(
            "window",
            format!("at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok(())
}

// --- ids and small data types ------------------------------------------------

/// The FHIR id of an agency's Organization.
pub fn organization_id(agency: &str) -> String {
    fhir_id("agency", agency)
}
/// The FHIR id of a facility's Location.
pub fn location_id(facility: &str) -> String {
    fhir_id("facility", facility)
}
/// The FHIR id of the HealthcareService of a service at a facility.
pub fn healthcare_service_id(facility: &str, service: &str) -> String {
    fhir_id("service", &format!("{facility}.{service}"))
}
/// The FHIR id of an agenda's Schedule.
pub fn schedule_id(agenda: &str) -> String {
    fhir_id("agenda", agenda)
}
/// The FHIR id of the Slot of an agenda starting at `start`.
pub fn slot_id(agenda: &str, start: DateTime<Utc>) -> String {
    fhir_id(
        "slot",
        &format!("{agenda}.{}Z", &super::basic(&start)[..13]),
    )
}
/// The FHIR id of an appointment.
pub fn appointment_id(appointment: u32) -> String {
    format!("appointment-{appointment}")
}
/// The FHIR id of the Appointment that stands for a waitlist entry.
pub fn waitlist_id(entry: u32) -> String {
    format!("waitlist-{entry}")
}
/// The FHIR id of a beneficiary's Patient.
pub fn patient_id(beneficiary: &str) -> String {
    fhir_id("patient", beneficiary)
}
/// The FHIR id of the ServiceRequest and of the Task of a referral.
pub fn referral_id(referral: u32) -> String {
    format!("referral-{referral}")
}
/// The FHIR id of a referral's counter-referral Communication.
pub fn counter_referral_id(referral: u32) -> String {
    format!("counter-referral-{referral}")
}
/// The FHIR id of an agreement's Contract.
pub fn contract_id(agreement: &str) -> String {
    fhir_id("agreement", agreement)
}

fn reference(resource_type: &str, id: &str) -> Value {
    json!({"reference": format!("{resource_type}/{id}")})
}

fn reference_shown(resource_type: &str, id: &str, display: &str) -> Value {
    json!({"reference": format!("{resource_type}/{id}"), "display": display})
}

fn identifier(system: &str, value: impl ToString) -> Value {
    json!({"system": system, "value": value.to_string()})
}

fn service_concept(state: &State, code: &str) -> Value {
    match state.service(code) {
        Some(s) => {
            json!({"coding": [{"system": SYSTEM_SERVICE, "code": s.code, "display": s.name}], "text": s.name})
        }
        None => json!({"coding": [{"system": SYSTEM_SERVICE, "code": code}]}),
    }
}

fn ext(name: &str, value_key: &str, value: Value) -> Value {
    let mut e = serde_json::Map::new();
    e.insert("url".into(), json!(format!("{EXTENSION_BASE}{name}")));
    e.insert(value_key.into(), value);
    Value::Object(e)
}

fn facility_name(state: &State, id: &str) -> String {
    state
        .find_facility(id)
        .map_or_else(|| id.to_owned(), |f| f.name.clone())
}

/// FHIR `request-priority` of an Enlace priority.
pub fn request_priority(p: Priority) -> &'static str {
    match p {
        Priority::Routine => "routine",
        Priority::Priority => "urgent",
        Priority::Urgent => "asap",
        Priority::Emergency => "stat",
    }
}

/// `Appointment.priority` (iCalendar-style: 1 highest, 9 lowest).
pub fn appointment_priority(p: Priority) -> u32 {
    match p {
        Priority::Emergency => 1,
        Priority::Urgent => 2,
        Priority::Priority => 5,
        Priority::Routine => 9,
    }
}

/// FHIR `appointmentstatus` of an Enlace appointment status.
pub fn appointment_status(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Booked => "booked",
        AppointmentStatus::Arrived => "arrived",
        AppointmentStatus::Fulfilled => "fulfilled",
        AppointmentStatus::Cancelled | AppointmentStatus::Rescheduled => "cancelled",
        AppointmentStatus::NoShow => "noshow",
    }
}

/// FHIR `request-status` (ServiceRequest.status) of a referral status.
pub fn service_request_status(s: ReferralStatus) -> &'static str {
    use ReferralStatus::*;
    match s {
        Requested | Received | Accepted | Scheduled | InProgress => "active",
        CounterReferred | Completed => "completed",
        Rejected | Cancelled | Closed => "revoked",
    }
}

/// FHIR `task-status` of a referral status.
pub fn task_status(s: ReferralStatus) -> &'static str {
    use ReferralStatus::*;
    match s {
        Requested => "requested",
        Received => "received",
        Accepted | Scheduled => "accepted",
        InProgress => "in-progress",
        CounterReferred | Completed => "completed",
        Rejected => "rejected",
        Cancelled => "cancelled",
        Closed => "failed",
    }
}

/// The closed-loop step of a referral (`Task.businessStatus` code, display).
pub fn business_status(r: &Referral) -> (&'static str, &'static str) {
    use ReferralStatus::*;
    let last = r.timeline.last().map(|s| s.event.as_str());
    match r.status {
        Requested => match last {
            Some("referral_redirected") => ("redirected", "Redirected to another facility"),
            Some("referral_escalated") => ("escalated", "Escalated to a higher tier"),
            _ => ("requested", "Requested"),
        },
        Received => ("received", "Received by the destination"),
        Accepted if last == Some("referral_no_show") => {
            ("no-show", "The patient missed the appointment")
        }
        Accepted => ("accepted", "Accepted"),
        Scheduled => ("scheduled", "Appointment scheduled"),
        InProgress => ("arrived", "The patient arrived"),
        CounterReferred => ("counter-referral-sent", "Counter-referral sent"),
        Completed => ("completed", "Counter-referral acknowledged: loop closed"),
        Rejected => ("declined", "Declined by the destination"),
        Cancelled => ("cancelled", "Cancelled by the origin"),
        Closed => ("closed", "Closed without care"),
    }
}

fn weekday_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn time(t: chrono::NaiveTime) -> String {
    super::clock(&t, true)
}

// --- reference data ------------------------------------------------------------

/// An agency as an Organization.
pub fn organization(agency: &str) -> Value {
    json!({
        "resourceType": "Organization",
        "id": organization_id(agency),
        "identifier": [identifier(SYSTEM_AGENCY, agency)],
        "active": true,
        "name": agency,
    })
}

fn tier_concept(t: Tier) -> Value {
    let display = match t {
        Tier::First => "First level of care",
        Tier::Second => "Second level of care",
        Tier::Third => "Third level of care",
    };
    json!({"coding": [{"system": SYSTEM_TIER, "code": t.number().to_string(), "display": display}]})
}

/// A facility as a Location of its agency.
pub fn location(f: &Facility) -> Value {
    json!({
        "resourceType": "Location",
        "id": location_id(&f.id),
        "extension": [{"url": EXTENSION_TIMEZONE, "valueCode": f.time_zone}],
        "identifier": [identifier(SYSTEM_FACILITY, &f.id)],
        "status": "active",
        "name": f.name,
        "mode": "instance",
        "type": [tier_concept(f.tier)],
        "address": {"district": f.region},
        "physicalType": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
            "code": "bu",
            "display": "Building",
        }]},
        "managingOrganization": reference_shown("Organization", &organization_id(&f.agency), &f.agency),
    })
}

/// A service offered at a facility as a HealthcareService. Its
/// `availableTime` is the union of the weekly rules of the facility's
/// agendas for the service.
pub fn healthcare_service(state: &State, f: &Facility, s: &Service) -> Value {
    // (start, end) → weekdays, so blocks shared by several days are one entry.
    let mut blocks: BTreeMap<(chrono::NaiveTime, chrono::NaiveTime), BTreeSet<u32>> =
        BTreeMap::new();
    for a in state
        .agendas()
        .filter(|a| a.config.facility == f.id && a.config.service == s.code)
    {
        for r in &a.config.rules {
            blocks
                .entry((r.start, r.end))
                .or_default()
                .insert(r.day.num_days_from_monday());
        }
    }
    let available: Vec<Value> = blocks
        .iter()
        .map(|((start, end), days)| {
            let days: Vec<&str> = days
                .iter()
                .filter_map(|&d| Weekday::try_from(d as u8).ok())
                .map(weekday_code)
                .collect();
            json!({"daysOfWeek": days, "availableStartTime": time(*start), "availableEndTime": time(*end)})
        })
        .collect();
    let mut v = json!({
        "resourceType": "HealthcareService",
        "id": healthcare_service_id(&f.id, &s.code),
        "extension": [ext("slot-minutes", "valuePositiveInt", json!(s.slot_minutes))],
        "active": true,
        "providedBy": reference_shown("Organization", &organization_id(&f.agency), &f.agency),
        "type": [service_concept(state, &s.code)],
        "location": [reference_shown("Location", &location_id(&f.id), &f.name)],
        "name": s.name,
    });
    if !available.is_empty() {
        v["availableTime"] = Value::Array(available);
    }
    v
}

/// An agenda as a Schedule. The weekly rules and the booking policy, which
/// FHIR has no elements for, travel in `urn:enlace:fhir:*` extensions so
/// that the importer can rebuild the agenda exactly.
pub fn schedule(state: &State, a: AgendaInfo<'_>, today: chrono::NaiveDate) -> Value {
    let c: &AgendaConfig = a.config;
    let mut extensions: Vec<Value> = c
        .rules
        .iter()
        .map(|r| {
            json!({
                "url": format!("{EXTENSION_BASE}agenda-rule"),
                "extension": [
                    {"url": "day", "valueCode": weekday_code(r.day)},
                    {"url": "start", "valueTime": time(r.start)},
                    {"url": "end", "valueTime": time(r.end)},
                ],
            })
        })
        .collect();
    if let Some(m) = c.slot_minutes {
        extensions.push(ext("slot-minutes", "valuePositiveInt", json!(m)));
    }
    extensions.push(ext("capacity", "valuePositiveInt", json!(c.capacity)));
    extensions.push(ext("overbooking", "valueUnsignedInt", json!(c.overbooking)));
    extensions.push(ext(
        "horizon-days",
        "valuePositiveInt",
        json!(c.horizon_days),
    ));
    extensions.push(ext(
        "min-notice-minutes",
        "valueUnsignedInt",
        json!(c.min_notice_minutes),
    ));
    extensions.push(ext(
        "referral-share-percent",
        "valueUnsignedInt",
        json!(c.referral_share_percent),
    ));
    let fname = facility_name(state, &c.facility);
    let mut actors = vec![
        reference_shown("Location", &location_id(&c.facility), &fname),
        reference_shown(
            "HealthcareService",
            &healthcare_service_id(&c.facility, &c.service),
            state
                .service(&c.service)
                .map_or(c.service.as_str(), |s| s.name.as_str()),
        ),
    ];
    if let Some(p) = &c.practitioner {
        actors.push(json!({"type": "Practitioner", "display": p}));
    }
    let mut horizon = json!({"start": date(c.valid_from)});
    if let Some(end) = c.valid_to {
        horizon["end"] = json!(date(end));
    }
    json!({
        "resourceType": "Schedule",
        "id": schedule_id(&c.id),
        "extension": extensions,
        "identifier": [identifier(SYSTEM_AGENDA, &c.id)],
        "active": c.valid_to.is_none_or(|end| end >= today),
        "serviceType": [service_concept(state, &c.service)],
        "actor": actors,
        "planningHorizon": horizon,
        "comment": format!(
            "{} at {}: {} slots of {} minutes, {} place(s) each, in {} local time",
            state.service(&c.service).map_or(c.service.as_str(), |s| s.name.as_str()),
            fname,
            rules_text(c),
            a.slot_minutes,
            c.capacity,
            a.time_zone.name(),
        ),
    })
}

fn rules_text(c: &AgendaConfig) -> String {
    let mut by_day: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for r in &c.rules {
        by_day
            .entry(r.day.num_days_from_monday())
            .or_default()
            .push(format!(
                "{}-{}",
                super::clock(&r.start, false),
                super::clock(&r.end, false)
            ));
    }
    let parts: Vec<String> = by_day
        .into_iter()
        .filter_map(|(d, times)| {
            let day = Weekday::try_from(d as u8).ok()?;
            Some(format!("{} {}", weekday_code(day), times.join(", ")))
        })
        .collect();
    if parts.is_empty() {
        "no weekly".to_owned()
    } else {
        format!("weekly ({})", parts.join("; "))
    }
}

/// A slot of an agenda as a Slot.
pub fn slot(state: &State, agenda: &AgendaConfig, s: &SlotInfo) -> Value {
    let (status, comment) = match &s.state {
        SlotState::Closed { reason } => ("busy-unavailable", reason.clone()),
        SlotState::Open if s.taken >= s.capacity => (
            "busy",
            format!("{} of {} places booked", s.taken, s.capacity),
        ),
        SlotState::Open => (
            "free",
            format!("{} of {} places free", s.capacity - s.taken, s.capacity),
        ),
    };
    let mut v = json!({
        "resourceType": "Slot",
        "id": slot_id(&agenda.id, s.start),
        "serviceType": [service_concept(state, &agenda.service)],
        "schedule": reference("Schedule", &schedule_id(&agenda.id)),
        "status": status,
        "start": instant(s.start),
        "end": instant(s.end),
        "comment": comment,
    });
    if s.taken > s.capacity {
        v["overbooked"] = json!(true);
    }
    v
}

// --- appointments and people ---------------------------------------------------------

/// An appointment as an Appointment.
pub fn appointment(state: &State, a: &AppointmentView) -> Value {
    let info = state.agenda_info(&a.agenda);
    let fname = facility_name(state, &a.facility);
    let mut participants = vec![
        json!({
            "actor": reference_shown("Patient", &patient_id(&a.beneficiary), &beneficiary_name(state, &a.beneficiary)),
            "required": "required",
            "status": "accepted",
        }),
        json!({
            "actor": reference_shown("Location", &location_id(&a.facility), &fname),
            "required": "required",
            "status": "accepted",
        }),
        json!({
            "actor": reference("HealthcareService", &healthcare_service_id(&a.facility, &a.service)),
            "required": "required",
            "status": "accepted",
        }),
    ];
    if let Some(p) = info.and_then(|i| i.config.practitioner.as_ref()) {
        participants.push(json!({
            "actor": {"type": "Practitioner", "display": p},
            "required": "required",
            "status": "accepted",
        }));
    }
    let service_name = state
        .service(&a.service)
        .map_or(a.service.as_str(), |s| s.name.as_str());
    let mut v = json!({
        "resourceType": "Appointment",
        "id": appointment_id(a.id),
        "identifier": [identifier(SYSTEM_APPOINTMENT, a.id)],
        "status": appointment_status(a.status),
        "serviceType": [service_concept(state, &a.service)],
        "description": format!("{service_name} at {fname}"),
        "start": instant(a.start),
        "end": instant(a.end),
        "minutesDuration": (a.end - a.start).num_minutes(),
        "slot": [reference("Slot", &slot_id(&a.agenda, a.start))],
        "participant": participants,
    });
    let mut extensions = Vec::new();
    if let Some(prev) = a.rescheduled_from {
        extensions.push(json!({
            "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.previousAppointment",
            "valueReference": reference("Appointment", &appointment_id(prev)),
        }));
    }
    if a.overbooked {
        extensions.push(ext("overbooked", "valueBoolean", json!(true)));
    }
    if !extensions.is_empty() {
        v["extension"] = Value::Array(extensions);
    }
    if let Some(next) = a.rescheduled_to {
        v["cancelationReason"] = json!({
            "coding": [{"system": SYSTEM_ENLACE, "code": "rescheduled", "display": "Rescheduled"}],
            "text": format!("Rescheduled: replaced by appointment {next}"),
        });
    }
    if let Some(r) = a.referral.and_then(|id| state.referral(id)) {
        v["basedOn"] = json!([reference("ServiceRequest", &referral_id(r.id))]);
        v["priority"] = json!(appointment_priority(r.priority));
    }
    v
}

fn beneficiary_name(state: &State, id: &str) -> String {
    state
        .find_beneficiary(id)
        .map_or_else(|| id.to_owned(), |b| b.name.clone())
}

/// A waitlist entry as an Appointment with status `waitlist` (or
/// `cancelled` once the beneficiary left the list). It has no start: R4
/// allows a waitlisted appointment without times.
pub fn waitlist_appointment(state: &State, w: &WaitlistEntry) -> Value {
    let status = match w.status {
        WaitlistStatus::Waiting | WaitlistStatus::Offered => "waitlist",
        WaitlistStatus::Left | WaitlistStatus::Satisfied => "cancelled",
    };
    let mut participants = vec![json!({
        "actor": reference_shown("Patient", &patient_id(&w.beneficiary), &beneficiary_name(state, &w.beneficiary)),
        "required": "required",
        "status": "needs-action",
    })];
    if let Some(f) = &w.facility {
        participants.push(json!({
            "actor": reference_shown("Location", &location_id(f), &facility_name(state, f)),
            "required": "required",
            "status": "needs-action",
        }));
    }
    let mut v = json!({
        "resourceType": "Appointment",
        "id": waitlist_id(w.id),
        "identifier": [identifier(SYSTEM_WAITLIST, w.id)],
        "status": status,
        "serviceType": [service_concept(state, &w.service)],
        "priority": appointment_priority(w.priority),
        "created": instant(w.joined_at),
        "participant": participants,
    });
    if w.status == WaitlistStatus::Offered {
        v["comment"] = json!("A freed slot has been offered");
    }
    if w.status == WaitlistStatus::Left {
        v["cancelationReason"] = json!({"text": "Left the waitlist"});
    }
    v
}

/// A beneficiary as a Patient: the national id, the name as written, sex and
/// birth date, and the contact (an e-mail when it has an `@`, else a phone).
pub fn patient(b: &Beneficiary, national_id_system: &str) -> Value {
    let gender = match b.sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Other => "other",
        Sex::Unknown => "unknown",
    };
    let mut v = json!({
        "resourceType": "Patient",
        "id": patient_id(&b.id),
        "identifier": [{"use": "official", "system": national_id_system, "value": b.id}],
        "active": true,
        "name": [{"use": "official", "text": b.name}],
        "gender": gender,
        "birthDate": date(b.birth_date),
    });
    if let Some(c) = b.contact.as_deref().filter(|c| !c.trim().is_empty()) {
        let system = if c.contains('@') { "email" } else { "phone" };
        v["telecom"] = json!([{"system": system, "value": c}]);
    }
    v
}

/// A beneficiary's coverage by programmes, as Coverage resources.
pub fn coverages(b: &Beneficiary) -> Vec<Value> {
    b.coverage
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut period = json!({"start": date(c.valid_from)});
            if let Some(end) = c.valid_to {
                period["end"] = json!(date(end));
            }
            json!({
                "resourceType": "Coverage",
                "id": fhir_id("coverage", &format!("{}.{}", b.id, i + 1)),
                "status": "active",
                "type": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "PUBLICPOL",
                    "display": "public healthcare",
                }]},
                "beneficiary": reference("Patient", &patient_id(&b.id)),
                "period": period,
                "payor": [reference_shown("Organization", &organization_id(&c.agency), &c.agency)],
                "class": [{
                    "type": {"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/coverage-class",
                        "code": "plan",
                    }]},
                    "value": c.programme,
                    "name": c.programme,
                }],
            })
        })
        .collect()
}

// --- referrals ---------------------------------------------------------------

fn first_step_at(r: &Referral, event: &str) -> Option<DateTime<Utc>> {
    r.timeline.iter().find(|s| s.event == event).map(|s| s.at)
}

fn last_step_at(r: &Referral, event: &str) -> Option<DateTime<Utc>> {
    r.timeline
        .iter()
        .rev()
        .find(|s| s.event == event)
        .map(|s| s.at)
}

/// The contained PractitionerRole that names the referral's origin: the
/// origin's agency, the origin facility, the referring user.
fn origin_role(r: &Referral) -> Value {
    let mut role = json!({
        "resourceType": "PractitionerRole",
        "id": "origin",
        "organization": reference_shown("Organization", &organization_id(&r.origin_agency), &r.origin_agency),
        "location": [reference("Location", &location_id(&r.origin))],
    });
    if let Some(user) = r
        .timeline
        .first()
        .map(|s| s.user.as_str())
        .filter(|u| !u.is_empty())
    {
        role["practitioner"] = json!({"type": "Practitioner", "display": user});
    }
    role
}

fn origin_ref(state: &State, r: &Referral) -> Value {
    json!({"reference": "#origin", "display": facility_name(state, &r.origin)})
}

fn destination_service(state: &State, r: &Referral) -> Value {
    reference_shown(
        "HealthcareService",
        &healthcare_service_id(&r.destination, &r.service),
        &facility_name(state, &r.destination),
    )
}

/// A referral as a ServiceRequest (the order).
pub fn service_request(state: &State, r: &Referral) -> Value {
    let reasons: Vec<Value> = r
        .reason
        .icd10
        .iter()
        .map(|c| json!({"coding": [{"system": SYSTEM_ICD10, "code": c}]}))
        .collect();
    let mut supporting: Vec<Value> = r
        .attachments
        .iter()
        .map(|a| json!({"identifier": identifier(SYSTEM_ATTACHMENT, &a.id), "display": format!("{} ({})", a.title, a.media_type)}))
        .collect();
    if let Some(ag) = &r.agreement {
        supporting.push(reference_shown("Contract", &contract_id(ag), ag));
    }
    let mut v = json!({
        "resourceType": "ServiceRequest",
        "id": referral_id(r.id),
        "contained": [origin_role(r)],
        "identifier": [identifier(SYSTEM_REFERRAL, r.id)],
        "status": service_request_status(r.status),
        "intent": "order",
        "category": [{"coding": [{
            "system": "http://snomed.info/sct",
            "code": "3457005",
            "display": "Patient referral",
        }]}],
        "priority": request_priority(r.priority),
        "code": service_concept(state, &r.service),
        "subject": reference_shown("Patient", &patient_id(&r.beneficiary), &beneficiary_name(state, &r.beneficiary)),
        "authoredOn": instant(r.created_at),
        "requester": origin_ref(state, r),
        "performer": [destination_service(state, r)],
        "locationReference": [reference_shown("Location", &location_id(&r.destination), &facility_name(state, &r.destination))],
    });
    if !reasons.is_empty() {
        v["reasonCode"] = Value::Array(reasons);
    }
    if !supporting.is_empty() {
        v["supportingInfo"] = Value::Array(supporting);
    }
    if !r.reason.text.trim().is_empty() {
        v["note"] = json!([{"text": r.reason.text}]);
    }
    v
}

/// A referral's closed-loop life as a Task on its ServiceRequest.
pub fn task(state: &State, r: &Referral) -> Value {
    let (step, step_display) = business_status(r);
    let last_modified = r.timeline.last().map_or(r.created_at, |s| s.at);
    let mut v = json!({
        "resourceType": "Task",
        "id": referral_id(r.id),
        "contained": [origin_role(r)],
        "identifier": [identifier(SYSTEM_REFERRAL, r.id)],
        "basedOn": [reference("ServiceRequest", &referral_id(r.id))],
        "status": task_status(r.status),
        "businessStatus": {"coding": [{"system": SYSTEM_REFERRAL_STEP, "code": step, "display": step_display}], "text": step_display},
        "intent": "order",
        "priority": request_priority(r.priority),
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill", "display": "Fulfill the focal request"}]},
        "focus": reference("ServiceRequest", &referral_id(r.id)),
        "for": reference_shown("Patient", &patient_id(&r.beneficiary), &beneficiary_name(state, &r.beneficiary)),
        "authoredOn": instant(r.created_at),
        "lastModified": instant(last_modified.max(r.created_at)),
        "requester": origin_ref(state, r),
        "owner": destination_service(state, r),
        "location": reference_shown("Location", &location_id(&r.destination), &facility_name(state, &r.destination)),
        "restriction": {"period": {"end": instant(r.appointment_due)}},
    });
    if let Some(start) = r.accepted_at {
        let mut period = json!({"start": instant(start)});
        let end = match r.status {
            ReferralStatus::Completed => last_step_at(r, "counter_referral_acknowledged"),
            ReferralStatus::CounterReferred => last_step_at(r, "counter_referral_sent"),
            _ => None,
        };
        if let Some(end) = end.filter(|e| *e >= start) {
            period["end"] = json!(instant(end));
        }
        v["executionPeriod"] = period;
    }
    if let Some(reason) = r.closing_reason.as_deref().filter(|t| !t.trim().is_empty()) {
        v["statusReason"] = json!({"text": reason});
    }
    let notes: Vec<Value> = r
        .timeline
        .iter()
        .filter(|s| s.event == "referral_redirected" || s.event == "referral_escalated")
        .map(|s| {
            let what = if s.event == "referral_redirected" {
                "Redirected"
            } else {
                "Escalated"
            };
            let mut n = json!({"time": instant(s.at), "text": format!("{what} {}", s.note)});
            if !s.user.is_empty() {
                n["authorString"] = json!(s.user);
            }
            n
        })
        .collect();
    if !notes.is_empty() {
        v["note"] = Value::Array(notes);
    }
    let mut outputs = Vec::new();
    if let Some(id) = r.appointment {
        outputs.push(json!({
            "type": {"coding": [{"system": SYSTEM_ENLACE, "code": "appointment", "display": "Appointment at the destination"}]},
            "valueReference": reference("Appointment", &appointment_id(id)),
        }));
    }
    if r.counter_referral.is_some() {
        outputs.push(json!({
            "type": {"coding": [{"system": SYSTEM_ENLACE, "code": "counter-referral", "display": "Counter-referral"}]},
            "valueReference": reference("Communication", &counter_referral_id(r.id)),
        }));
    }
    if let Some(id) = r.follow_up_appointment {
        outputs.push(json!({
            "type": {"coding": [{"system": SYSTEM_ENLACE, "code": "follow-up", "display": "Follow-up appointment at the origin"}]},
            "valueReference": reference("Appointment", &appointment_id(id)),
        }));
    }
    if !outputs.is_empty() {
        v["output"] = Value::Array(outputs);
    }
    v
}

fn outcome_text(o: CareOutcome) -> &'static str {
    match o {
        CareOutcome::Resolved => "resolved",
        CareOutcome::Improved => "improved",
        CareOutcome::Ongoing => "ongoing",
        CareOutcome::ReferredOnward => "referred onward",
        CareOutcome::Deceased => "deceased",
    }
}

/// A referral's counter-referral as a Communication from the destination to
/// the origin, based on the ServiceRequest; `None` before one is sent.
pub fn communication(state: &State, r: &Referral) -> Option<Value> {
    let cr = r.counter_referral.as_ref()?;
    let s = &cr.summary;
    let mut payload = vec![];
    if !s.text.trim().is_empty() {
        payload.push(json!({"contentString": s.text}));
    }
    payload.push(json!({"contentString": format!("Outcome: {}", outcome_text(s.outcome))}));
    if !s.procedures.is_empty() {
        payload.push(json!({"contentString": format!("Procedures: {}", s.procedures.join("; "))}));
    }
    payload.push(json!({"contentString": format!("Instructions: {}", cr.instructions)}));
    if let Some(f) = &cr.follow_up {
        let name = state
            .service(&f.service)
            .map_or(f.service.as_str(), |s| s.name.as_str());
        let mut text = format!("Follow-up: {name} within {} days", f.within_days);
        if !f.note.trim().is_empty() {
            text.push_str(&format!(" ({})", f.note));
        }
        payload.push(json!({"contentString": text}));
    }
    let mut v = json!({
        "resourceType": "Communication",
        "id": counter_referral_id(r.id),
        "contained": [origin_role(r)],
        "identifier": [identifier(SYSTEM_REFERRAL, r.id)],
        "basedOn": [reference("ServiceRequest", &referral_id(r.id))],
        "partOf": [reference("Task", &referral_id(r.id))],
        "status": "completed",
        "category": [{"coding": [{"system": SYSTEM_ENLACE, "code": "counter-referral", "display": "Counter-referral"}]}],
        "subject": reference_shown("Patient", &patient_id(&r.beneficiary), &beneficiary_name(state, &r.beneficiary)),
        "recipient": [origin_ref(state, r)],
        "sender": destination_service(state, r),
        "reasonCode": s.diagnoses.iter().map(|c| json!({"coding": [{"system": SYSTEM_ICD10, "code": c}]})).collect::<Vec<_>>(),
        "payload": payload,
    });
    if let Some(sent) = first_step_at(r, "counter_referral_sent") {
        v["sent"] = json!(instant(sent));
    }
    if let Some(ack) = first_step_at(r, "counter_referral_acknowledged") {
        v["received"] = json!(instant(ack));
    }
    Some(v)
}

// --- agreements -------------------------------------------------------------------

fn cost_bearer_code(c: &CostBearer) -> (&'static str, &'static str) {
    match c {
        CostBearer::ReferringAgency => ("referring-agency", "The referring agency pays"),
        CostBearer::ReceivingAgency => {
            ("receiving-agency", "The receiving agency absorbs the cost")
        }
        CostBearer::Programme => ("programme", "A programme or fund pays"),
    }
}

/// An inter-agency agreement as a Contract between the two agencies (see the
/// module documentation for why Contract and not Coverage).
pub fn contract(a: &Agreement, today: chrono::NaiveDate) -> Value {
    let status = if a.valid_to.is_some_and(|end| end < today) {
        "terminated"
    } else if a.valid_from > today {
        "executable"
    } else {
        "executed"
    };
    let (cost_code, cost_text) = cost_bearer_code(&a.cost_bearer);
    let mut applies = json!({"start": date(a.valid_from)});
    if let Some(end) = a.valid_to {
        applies["end"] = json!(date(end));
    }
    let services = if a.services.is_empty() {
        "every service".to_owned()
    } else {
        a.services.join(", ")
    };
    let tiers = if a.tiers.is_empty() {
        "every tier".to_owned()
    } else {
        a.tiers
            .iter()
            .map(|t| t.number().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let programmes = if a.programmes.is_empty() {
        format!("any coverage by {}", a.referring_agency)
    } else {
        a.programmes.join(", ")
    };
    let text = format!(
        "{} may refer beneficiaries ({programmes}) to facilities of {} for {services}, tiers {tiers}. {cost_text}{}.",
        a.referring_agency,
        a.receiving_agency,
        if a.free_of_charge {
            "; free of charge for the beneficiary"
        } else {
            ""
        },
    );
    let party = |agency: &str, role: &str| {
        json!({
            "reference": [reference_shown("Organization", &organization_id(agency), agency)],
            "role": {"coding": [{"system": SYSTEM_ENLACE, "code": role}]},
        })
    };
    let mut extensions = vec![
        ext("cost-bearer", "valueCode", json!(cost_code)),
        ext("free-of-charge", "valueBoolean", json!(a.free_of_charge)),
    ];
    extensions.extend(
        a.tiers
            .iter()
            .map(|t| ext("tier", "valueCode", json!(t.number().to_string()))),
    );
    extensions.extend(
        a.programmes
            .iter()
            .map(|p| ext("programme", "valueString", json!(p))),
    );
    let mut asset = json!({"text": format!("Services: {services}; destination tiers: {tiers}")});
    if !a.services.is_empty() {
        asset["type"] = Value::Array(
            a.services
                .iter()
                .map(|s| json!({"coding": [{"system": SYSTEM_SERVICE, "code": s}]}))
                .collect(),
        );
    }
    json!({
        "resourceType": "Contract",
        "id": contract_id(&a.id),
        "extension": extensions,
        "identifier": [identifier(SYSTEM_AGREEMENT, &a.id)],
        "status": status,
        "applies": applies,
        "name": a.id,
        "title": format!("Referral agreement {}: {} → {}", a.id, a.referring_agency, a.receiving_agency),
        "authority": [
            reference_shown("Organization", &organization_id(&a.referring_agency), &a.referring_agency),
            reference_shown("Organization", &organization_id(&a.receiving_agency), &a.receiving_agency),
        ],
        "type": {"coding": [{"system": SYSTEM_ENLACE, "code": "inter-agency-referral-agreement", "display": "Inter-agency referral agreement"}]},
        "term": [{
            "text": text,
            "offer": {
                "party": [party(&a.referring_agency, "referring-agency"), party(&a.receiving_agency, "receiving-agency")],
                "text": text,
            },
            "asset": [asset],
        }],
    })
}
